// `vcpuscope report`: not implemented yet (placeholder so that the command list is stable).

import type { CliCommand } from '../command.ts';

export const reportCommand: CliCommand = {
  name: 'report',
  summary: '(not implemented yet)',
  usage: '',
  options: [],
  async run(_args, io) {
    io.stderr.write('vcpuscope report: not implemented yet\n');
    return 1;
  },
};
