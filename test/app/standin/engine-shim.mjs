// Loaded (--import) into the engine child that the stand-in's utilityProcess.fork starts: gives it
// Electron's `process.parentPort`, with MessagePorts carried over the child_process IPC channel
// (advanced serialization: typed arrays arrive as typed arrays, as with Electron's structured clone).
// As in Electron, messages wait in a queue until the process listens for them (the engine bundle
// registers its listener only after its module has been evaluated).
import { EventEmitter } from 'node:events';

/** An emitter that holds 'message' events until someone listens. */
class QueuedPort extends EventEmitter {
  queue = [];
  constructor() {
    super();
    this.on('newListener', (name) => {
      if (name === 'message') setImmediate(() => this.flush());
    });
  }
  deliver(e) {
    if (this.listenerCount('message') > 0 && this.queue.length === 0) this.emit('message', e);
    else this.queue.push(e);
  }
  flush() {
    while (this.queue.length && this.listenerCount('message') > 0) this.emit('message', this.queue.shift());
  }
}

class ChildPort extends QueuedPort {
  constructor(id) {
    super();
    this.id = id;
  }
  postMessage(data) {
    process.send({ k: 'port', id: this.id, data });
  }
  start() {
    setImmediate(() => this.flush());
  }
}

const ports = new Map();
const parentPort = new QueuedPort();
process.parentPort = parentPort;
process.on('message', (m) => {
  if (m.k === 'parent') {
    const ps = (m.portIds ?? []).map((id) => {
      const p = new ChildPort(id);
      ports.set(id, p);
      return p;
    });
    parentPort.deliver({ data: m.data, ports: ps });
  } else if (m.k === 'port') {
    ports.get(m.id)?.deliver({ data: m.data });
  }
});
