'use strict';
const { describe, it } = require('node:test');
const assert = require('node:assert');
const { toCelsius } = require('../units.js');

// Only one of the three conversions is tested: coverage of units.js is under the bar.
describe('units', () => {
  it('converts the boiling point', () => {
    assert.strictEqual(toCelsius(212), 100);
  });
  it('converts the freezing point', () => {
    assert.strictEqual(toCelsius(32), 0);
  });
});
