// `vcpuscope stats`: not implemented yet (placeholder so that the command list is stable).

import type { CliCommand } from '../command.ts';

export const statsCommand: CliCommand = {
  name: 'stats',
  summary: '(not implemented yet)',
  usage: '',
  options: [],
  async run(_args, io) {
    io.stderr.write('vcpuscope stats: not implemented yet\n');
    return 1;
  },
};
