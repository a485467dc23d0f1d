// Entry of dist/renderer/boot.js (see renderer/boot.ts): starts the connection and the initial load's first RPCs.
import { bootMain } from './boot.ts';

bootMain();
