// `vcpuscope serve`: not implemented yet (placeholder so that the command list is stable).

import type { CliCommand } from '../command.ts';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: '(not implemented yet)',
  usage: '',
  options: [],
  async run(_args, io) {
    io.stderr.write('vcpuscope serve: not implemented yet\n');
    return 1;
  },
};
