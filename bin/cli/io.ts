/** Where a command writes. Tests pass buffers; the real CLI passes the process's streams. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
  /**
   * Whether `out` is a terminal: commands then draw spinners (on `err`), colours and redraw in place;
   * otherwise they print plain text, line by line.
   * @default false
   */
  readonly isTTY?: boolean;
  /**
   * Whether `err` is a terminal: spinners are drawn there only then, so that `2> file` never collects
   * escape codes, whatever `out` is.
   * @default - the same as isTTY
   */
  readonly errIsTTY?: boolean;
  /**
   * The environment the commands read (`KUBECONFIG`, `HOME`, the in-cluster `KUBERNETES_SERVICE_HOST`...).
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  isTTY: process.stdout.isTTY === true,
  errIsTTY: process.stderr.isTTY === true,
};

/** Exit codes: 0 ok, 1 the input is invalid (or a command failed), 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

/** A wrong command line; the message is printed with the command's usage. */
export class UsageError extends Error {}
