/**
 * A CPU profile of the API server longer than one request may last, as consecutive slices: the API
 * server ends every request that is not a watch after 60 s (`--request-timeout`), its
 * /debug/pprof/profile too. Merge the slices with `go tool pprof -top <binary> file1 file2 ...`.
 */

/** The longest CPU profile taken in one request. */
export const PROFILE_SLICE_SECONDS = 50;

/** `total` seconds of profile as consecutive slices of at most {@link PROFILE_SLICE_SECONDS}. */
export function profileSlices(total: number): number[] {
  const slices: number[] = [];
  for (let left = total; left > 0; left -= PROFILE_SLICE_SECONDS)
    slices.push(Math.min(left, PROFILE_SLICE_SECONDS));
  return slices;
}
