'use strict';

function toCelsius(fahrenheit) {
  return ((fahrenheit - 32) * 5) / 9;
}

function toFahrenheit(celsius) {
  const scaled = (celsius * 9) / 5;
  const shifted = scaled + 32;
  return shifted;
}

function toKelvin(celsius) {
  if (celsius < -273.15) {
    throw new RangeError('below absolute zero');
  }
  return celsius + 273.15;
}

module.exports = { toCelsius, toFahrenheit, toKelvin };
