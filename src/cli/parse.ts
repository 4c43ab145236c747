import { BadInputError } from "../kernel/errors.ts";

/** Parses a whole number in [min, max]; the error names the flag and the value. */
export function parseInteger(
  value: string,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const trimmed = value.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw new BadInputError(`${flag} must be a whole number, got "${value}"`);
  }
  const n = Number(trimmed);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`;
    throw new BadInputError(`${flag} must be ${range}, got "${value}"`);
  }
  return n;
}

/** Parses a TCP port. */
export function parsePort(value: string, flag: string): number {
  return parseInteger(value, flag, 1, 65535);
}

/** Parses a positive number of seconds (fractions allowed). */
export function parseSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new BadInputError(`${flag} must be a positive number of seconds, got "${value}"`);
  }
  return n;
}
