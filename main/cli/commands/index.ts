// `vcpuscope index`: not implemented yet (placeholder so that the command list is stable).

import type { CliCommand } from '../command.ts';

export const indexCommand: CliCommand = {
  name: 'index',
  summary: '(not implemented yet)',
  usage: '',
  options: [],
  async run(_args, io) {
    io.stderr.write('vcpuscope index: not implemented yet\n');
    return 1;
  },
};
