/** Median, min and max of a set of measurements. */
export interface Summary {
  median: number
  min: number
  max: number
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return {median: Number.NaN, min: Number.NaN, max: Number.NaN}
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return {median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number}
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a"
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

/** "median (min–max)" */
export function formatSummary(summary: Summary, digits = 0): string {
  return `${formatNumber(summary.median, digits)} (${formatNumber(summary.min, digits)}–${formatNumber(summary.max, digits)})`
}

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n")
}

export interface ThroughputSample {
  /** Calls per second of wall-clock time. */
  opsPerSecond: number
  /** CPU time (user + system) this process spent per call, in microseconds. */
  cpuMicrosPerOp: number
}

/**
 * Runs `total` calls of `task` with `concurrency` callers at once. Besides wall-clock
 * throughput it records this process's CPU time per call: time the machine was stalled by
 * its neighbours is not CPU time of ours, so this figure stays steady where wall-clock
 * throughput swings.
 */
export async function throughput(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<ThroughputSample> {
  let next = 0
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    Array.from({length: concurrency}, async () => {
      while (next < total) await task(next++)
    }),
  )
  const elapsedMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  return {
    opsPerSecond: total / (elapsedMs / 1000),
    cpuMicrosPerOp: (cpu.user + cpu.system) / total,
  }
}
