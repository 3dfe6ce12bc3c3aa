'use strict';

// Holds on to memory outside V8's heap until something stops it.
function hoard() {
  const kept = [];
  for (;;) {
    kept.push(Buffer.alloc(16 * 1024 * 1024, 1));
  }
}

module.exports = { hoard };
