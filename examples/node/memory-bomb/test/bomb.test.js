'use strict';
const { it } = require('node:test');
const { hoard } = require('../bomb.js');

it('hoards memory', () => {
  hoard();
});
