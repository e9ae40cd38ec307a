import type { CliIo } from './io';

/**
 * What the CLI draws on a terminal — aligned tables, colours, a spinner, a redraw — and how the same
 * output degrades to plain text when it goes to a pipe or a file (`io.isTTY` false): no escape codes,
 * no spinner, the same columns.
 */

/** A table cell: plain text, or text with the colour it takes on a terminal. */
export type Cell = string | { readonly text: string; readonly color?: Color };

export type Color = 'green' | 'yellow' | 'red' | 'dim' | 'bold';

const SGR: Record<Color, [number, number]> = { green: [32, 39], yellow: [33, 39], red: [31, 39], dim: [2, 22], bold: [1, 22] };

/** Whether escape codes may be written: on a terminal, unless NO_COLOR is set (https://no-color.org). */
export function useColor(io: CliIo): boolean {
  return io.isTTY === true && !process.env.NO_COLOR;
}

/** `text` in `color` when `enabled`, else as it is. */
export function paint(text: string, color: Color | undefined, enabled: boolean): string {
  if (!enabled || color === undefined || text === '') return text;
  const [on, off] = SGR[color];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

/**
 * Rows as aligned columns (two spaces apart, the last column not padded), each line ending in a
 * newline. The header, when given, is the first row. Widths are those of the text, colours aside.
 */
export function formatTable(header: readonly string[] | undefined, rows: readonly (readonly Cell[])[], color = false): string {
  const all: Cell[][] = [...(header ? [header.map((h) => ({ text: h, color: 'bold' as const }))] : []), ...rows.map((r) => [...r])];
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, textOf(cell).length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => {
          const text = textOf(cell);
          const padding = i === row.length - 1 ? '' : ' '.repeat(widths[i] - text.length);
          return paint(text, typeof cell === 'string' ? undefined : cell.color, color) + padding;
        })
        .join('  ')
        .trimEnd() + '\n',
    )
    .join('');
}

/** `label: value` lines with the values aligned. */
export function formatFields(fields: readonly (readonly [string, Cell])[], color = false): string {
  const width = Math.max(...fields.map(([label]) => label.length + 1));
  return fields
    .map(([label, value]) => `${(label + ':').padEnd(width)}  ${paint(textOf(value), typeof value === 'string' ? undefined : value.color, color)}\n`)
    .join('');
}

/**
 * `text` with its control characters shown instead of sent (`\x1b` as the four characters `\x1b`): the CLI prints
 * what the cluster says — image names, kubelet and event messages, the API server's errors — and an escape sequence
 * in it must not drive the reader's terminal (move the cursor, rewrite what was printed, set the window title).
 */
export function shownText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A cell's text, shown ({@link shownText}). */
function textOf(cell: Cell): string {
  return shownText(typeof cell === 'string' ? cell : cell.text);
}

/** Moves the cursor home and clears the screen: what `--watch` writes before each redraw on a terminal. */
/** `1 image`, `2 images`: a count and its noun, in the CLI's summaries. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const CLEAR_SCREEN = '\x1b[H\x1b[2J';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A spinner on `io.err` while the CLI waits (for the cluster, for AWS) — when `err` is a terminal only;
 * elsewhere it writes nothing, so logs and pipes stay clean. Stop it before writing anything else.
 */
export class Spinner {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;

  constructor(private readonly io: CliIo, private readonly intervalMs = 80) {}

  /** Shows `text` with a turning wheel (or changes the text of the running one). */
  public start(text: string): this {
    if ((this.io.errIsTTY ?? this.io.isTTY) !== true) return this;
    this.stop();
    const draw = () => this.io.err(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${text}`);
    draw();
    this.timer = setInterval(draw, this.intervalMs);
    // Never what keeps the process alive: a command that finished exits even if it forgot its spinner.
    this.timer.unref();
    return this;
  }

  /** Erases the spinner's line. */
  public stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.io.err('\r\x1b[2K');
  }

  /** Runs `work` with the spinner showing `text`, and stops it however `work` ends. */
  public async during<T>(text: string, work: () => Promise<T>): Promise<T> {
    this.start(text);
    try {
      return await work();
    } finally {
      this.stop();
    }
  }
}
