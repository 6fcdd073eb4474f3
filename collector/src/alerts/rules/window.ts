// Recent history per host, in memory, for rules that judge a trend rather
// than one report: the CPU average over a window, and a filesystem's fill
// rate (a least-squares line, as PromQL's predict_linear fits one).

export interface Point {
  /** Seconds since the epoch. */
  t: number;
  v: number;
}

/** A time-bounded series, thinned to at most one point per `spacingSeconds`. */
export class Series {
  readonly points: Point[] = [];
  readonly lengthSeconds: number;
  readonly spacingSeconds: number;

  constructor(lengthSeconds: number, spacingSeconds = 0) {
    this.lengthSeconds = lengthSeconds;
    this.spacingSeconds = spacingSeconds;
  }

  add(t: number, v: number): void {
    const last = this.points.at(-1);
    if (last && t <= last.t) return; // late or repeated: the series only moves forward
    if (last && t - last.t < this.spacingSeconds) this.points[this.points.length - 1] = { t: last.t, v };
    else this.points.push({ t, v });
    const oldest = t - this.lengthSeconds;
    while (this.points.length && this.points[0]!.t < oldest) this.points.shift();
  }

  /** Seconds between the first and last point. */
  spanSeconds(): number {
    return this.points.length ? this.points.at(-1)!.t - this.points[0]!.t : 0;
  }

  average(sinceT: number): number | undefined {
    const recent = this.points.filter((p) => p.t >= sinceT);
    return recent.length ? recent.reduce((sum, p) => sum + p.v, 0) / recent.length : undefined;
  }
}

/** Least-squares slope and intercept of v over t; undefined for fewer than two distinct times. */
export function linearFit(points: readonly Point[]): { slope: number; intercept: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const t0 = points[0]!.t; // centre on the first point: epoch seconds squared lose precision
  let st = 0, sv = 0, stt = 0, stv = 0;
  for (const p of points) {
    const t = p.t - t0;
    st += t; sv += p.v; stt += t * t; stv += t * p.v;
  }
  const denominator = n * stt - st * st;
  if (denominator === 0) return undefined;
  const slope = (n * stv - st * sv) / denominator;
  return { slope, intercept: sv / n - slope * (st / n) - slope * t0 };
}

/**
 * Seconds from `now` until the fitted line reaches `limit`; Infinity when the
 * series is flat or falling, undefined when there is too little to fit.
 */
export function secondsUntil(points: readonly Point[], limit: number, now: number): number | undefined {
  const fit = linearFit(points);
  if (!fit) return undefined;
  if (fit.slope <= 0) return Infinity;
  return Math.max(0, (limit - fit.intercept) / fit.slope - now);
}
