#pragma once
// Ctrl-C during an import: SIGINT/SIGTERM/SIGHUP are blocked and read from a
// signalfd, and the import checks for them where it waits (transfers, the
// build's progress), so it stops by throwing: the guards remove temporary
// files and kill the packer, and partial downloads stay for a resume.
namespace hl::import {

// Blocks the signals (this thread and the threads it starts later).
void watch_interrupts();
// The signal received, 0 if none (or watch_interrupts() was not called).
int interrupting_signal();
// Throws hl::Error "interrupted by signal N" with exit code 128+N.
void throw_if_interrupted();

}  // namespace hl::import
