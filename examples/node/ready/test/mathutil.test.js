'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { add, clamp } = require('../mathutil.js');

describe('mathutil', () => {
  it('adds', () => {
    assert.strictEqual(add(2, 3), 5);
  });
  it('clamps', () => {
    assert.strictEqual(clamp(-1, 0, 10), 0);
    assert.strictEqual(clamp(11, 0, 10), 10);
  });
});
