/**
 * A long CPU profile of the API server as consecutive slices, so that each phase of a start-up (the
 * opening lists, the registrations, the last of them, the idle fleet) can be read on its own.
 * Merge the slices for the whole: `go tool pprof -top <binary> file1 file2 ...`.
 */

/** The longest slice. */
export const PROFILE_SLICE_SECONDS = 50;

/** `total` seconds of profile as consecutive slices of at most {@link PROFILE_SLICE_SECONDS}. */
export function profileSlices(total: number): number[] {
  const slices: number[] = [];
  for (let left = total; left > 0; left -= PROFILE_SLICE_SECONDS)
    slices.push(Math.min(left, PROFILE_SLICE_SECONDS));
  return slices;
}
