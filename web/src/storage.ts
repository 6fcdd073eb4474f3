// What the console remembers in this browser (localStorage): small preferences, never data
// or the token. Storage may be refused (private windows, policies): then nothing is kept.

export function remembered(key: string): string {
  try {
    return localStorage.getItem(key) ?? "";
  } catch {
    return "";
  }
}

export function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage refused: the preference is asked again, or defaults, next time.
  }
}
