import { CliIo } from '../../bin/cli/io';
import { formatFields, formatTable, paint, plural, Spinner, useColor } from '../../bin/cli/term';

describe('formatTable', () => {
  test('aligns columns two spaces apart, whatever the colours, without trailing spaces', () => {
    const text = formatTable(['NAME', 'STATUS', 'URL'], [
      ['hello-world', { text: 'live', color: 'green' }, 'http://x/hello-world'],
      ['gpu', { text: 'pending', color: 'yellow' }, ''],
    ]);
    expect(text).toBe('NAME         STATUS   URL\nhello-world  live     http://x/hello-world\ngpu          pending\n');
    const colored = formatTable(['NAME', 'STATUS'], [['a', { text: 'live', color: 'green' }]], true);
    expect(colored).toBe('\x1b[1mNAME\x1b[22m  \x1b[1mSTATUS\x1b[22m\na     \x1b[32mlive\x1b[39m\n');
  });

  test("the cluster's text cannot drive the terminal: control characters are shown, not sent, and widths count what is shown", () => {
    const hostile = 'evil\x1b[31mred\x1b]0;title\x07\r';
    const shown = 'evil\\x1b[31mred\\x1b]0;title\\x07\\x0d';
    expect(formatTable(['POD', 'IMAGE'], [[hostile, 'a:1']])).toBe(`${'POD'.padEnd(shown.length)}  IMAGE\n${shown}  a:1\n`);
    expect(formatFields([['message', { text: hostile, color: 'red' }]], true)).toBe('message:  \x1b[31mevil\\x1b[31mred\\x1b]0;title\\x07\\x0d\x1b[39m\n');
  });

  test('fields: labels and aligned values', () => {
    expect(formatFields([['status', 'live'], ['last update', '3h ago']])).toBe('status:       live\nlast update:  3h ago\n');
  });
});

describe('colours and the spinner: on a terminal only', () => {
  function io(isTTY?: boolean): { io: CliIo; err: string[] } {
    const err: string[] = [];
    return { io: { out: () => undefined, err: (t) => err.push(t), cwd: '/', isTTY }, err };
  }

  test('no escape codes unless on a terminal, nor with NO_COLOR', () => {
    expect(useColor(io(undefined).io)).toBe(false);
    expect(useColor(io(true).io)).toBe(!process.env.NO_COLOR);
    expect(paint('x', 'red', false)).toBe('x');
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      expect(useColor(io(true).io)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  test('the spinner draws on stderr and erases its line; elsewhere it writes nothing', async () => {
    const tty = io(true);
    expect(await new Spinner(tty.io, 1_000).during('reading…', async () => 42)).toBe(42);
    expect(tty.err).toEqual(['\r\x1b[2K⠋ reading…', '\r\x1b[2K']);

    const plain = io(false);
    await new Spinner(plain.io).during('reading…', async () => undefined);
    expect(plain.err).toEqual([]);
  });

  test('the spinner follows stderr: none when stderr is redirected, drawn when only stdout is piped', async () => {
    const errToFile: string[] = [];
    const redirected: CliIo = { out: () => undefined, err: (t) => errToFile.push(t), cwd: '/', isTTY: true, errIsTTY: false };
    await new Spinner(redirected, 1_000).during('reading…', async () => undefined);
    expect(errToFile).toEqual([]);

    const errToTerminal: string[] = [];
    const piped: CliIo = { out: () => undefined, err: (t) => errToTerminal.push(t), cwd: '/', isTTY: false, errIsTTY: true };
    await new Spinner(piped, 1_000).during('reading…', async () => undefined);
    expect(errToTerminal).toEqual(['\r\x1b[2K⠋ reading…', '\r\x1b[2K']);
  });

  test('the spinner stops when the work fails', async () => {
    const tty = io(true);
    await expect(new Spinner(tty.io, 1_000).during('x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(tty.err[tty.err.length - 1]).toBe('\r\x1b[2K');
  });
});

describe('plural', () => {
  test.each([
    [0, '0 images'],
    [1, '1 image'],
    [2, '2 images'],
  ])('GIVEN %i THEN %j', (n, text) => {
    expect(plural(n, 'image')).toBe(text);
  });
});
