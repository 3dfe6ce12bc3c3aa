'use strict';
const { it } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { greet } = require('../greet.js');

it('greets by name', () => {
  assert.strictEqual(greet('Ada'), 'Hello, Ada!');
});

// package.json has an install script; `npm ci --ignore-scripts` must not have run it.
it('ran no install script', () => {
  assert.strictEqual(fs.existsSync('/workspace/INSTALL-SCRIPT-RAN'), false);
});
