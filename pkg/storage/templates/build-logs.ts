import type { ProvisionerJobLog } from '../../coder/types.ts';

/** Enough of Terraform's diagnostic to act on, without pasting a whole log into a Status. */
const MAX_LINES = 12;
const MAX_CHARS = 1200;

/**
 * The lines of a failed job's log that say why it failed: Terraform's last diagnostic (from
 * its last "Error:" line on), else the last error-level lines. Coder's job.error says only
 * which step failed ("template import init error: initialize terraform: exit status 1").
 */
export function failureExcerpt(logs: readonly ProvisionerJobLog[]): string[] {
  const errors = logs.filter((l) => l.log_level === 'error' && l.output.trim() !== '').map((l) => l.output.trimEnd());
  let start = errors.findLastIndex((line) => line.startsWith('Error:'));
  if (start < 0) start = Math.max(0, errors.length - MAX_LINES);
  const lines: string[] = [];
  let chars = 0;
  for (const line of errors.slice(start, start + MAX_LINES)) {
    if (chars + line.length > MAX_CHARS) break;
    lines.push(line);
    chars += line.length + 1;
  }
  return lines;
}

/** Coder's error (the step that failed) and, on the lines after it, the excerpt of the log. */
export function failureMessage(error: string, excerpt: readonly string[]): string {
  return [error, ...excerpt].filter(Boolean).join('\n');
}
