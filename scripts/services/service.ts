// What the start script knows about a backing service it found or started.
export interface Service {
  readonly name: string;
  readonly url: string;
  /** True when this script started it, and so must stop it. */
  readonly started: boolean;
  /** Where its log goes, when this script started it. */
  readonly logFile?: string;
  stop(): Promise<void>;
}

/** A service that is missing and can't be provided here; the message says what to install. */
export class ServiceUnavailableError extends Error {
  override name = "ServiceUnavailableError";
}

export function foundService(name: string, url: string): Service {
  return { name, url, started: false, stop: async () => {} };
}
