/** `1 process` / `2 processes`: a count with the right form of its noun. */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The last `tail` lines of a log, ending with a newline. */
export function lastLines(text: string, tail: number): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-tail).join("\n") + "\n";
}
