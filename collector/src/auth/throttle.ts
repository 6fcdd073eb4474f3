// Failed authentications counted per source address: after maxFailures within window, the
// address is refused outright (HTTP 429 / gRPC RESOURCE_EXHAUSTED, with the seconds to wait)
// until the window has passed since its last failure. While it is blocked no token it sends is
// looked at, so guessing goes no faster for whoever shares an address with a person.

export interface ThrottleSettings {
  /** Failures from one address that start a block. */
  readonly maxFailures: number;
  /** How long failures are remembered, and how long a block lasts after the last one. */
  readonly windowSeconds: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = Object.freeze({ maxFailures: 10, windowSeconds: 60 });

// Addresses remembered at most; beyond it the oldest go first, so a flood of sources cannot fill memory.
const MAX_SOURCES = 100_000;

interface SourceState {
  failures: number;
  lastFailure: number;
  blockedUntil: number;
}

export interface FailureOutcome {
  /** The first failure of this address's burst: worth a warning; the rest are debug. */
  first: boolean;
  /** This failure started a block. */
  blocked: boolean;
}

export class FailureThrottle {
  private readonly sources = new Map<string, SourceState>();
  private readonly settings: ThrottleSettings;
  constructor(settings: ThrottleSettings = DEFAULT_THROTTLE) {
    this.settings = settings;
  }

  /** Whole seconds until the address may try again; 0 when it may now. */
  retryAfterSeconds(source: string, now = Date.now()): number {
    const state = this.sources.get(source);
    if (!state || state.blockedUntil <= now) return 0;
    return Math.ceil((state.blockedUntil - now) / 1000);
  }

  failed(source: string, now = Date.now()): FailureOutcome {
    const windowMs = this.settings.windowSeconds * 1000;
    let state = this.sources.get(source);
    const first = !state || now - state.lastFailure > windowMs;
    if (!state || first) state = { failures: 0, lastFailure: now, blockedUntil: 0 };
    this.sources.delete(source);
    this.sources.set(source, state);
    state.failures += 1;
    state.lastFailure = now;
    const blocked = state.failures === this.settings.maxFailures;
    if (state.failures >= this.settings.maxFailures) state.blockedUntil = now + windowMs;
    if (this.sources.size > MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
    return { first, blocked };
  }

  /** A right token from the address: its count starts again. */
  succeeded(source: string): void {
    this.sources.delete(source);
  }
}
