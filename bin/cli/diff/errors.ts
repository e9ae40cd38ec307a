/**
 * What keeps `cortex diff` from comparing: an assembly that cannot be read, a stack AWS will not show.
 * The message says what was wrong and what to do; the CLI prints it and exits 1.
 */
export class DiffError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiffError';
  }
}

/** What reading deployed stacks needs to be allowed. */
export const REQUIRED_ACTIONS = 'cloudformation:DescribeStacks, cloudformation:GetTemplate and cloudformation:ListStackResources';
