// The one place the views get their component toolkit from: Preact with htm templates
// (tagged template literals instead of JSX, so there is no build step).
import { h, render } from 'preact';
import { useState, useEffect, useMemo, useRef, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export { render, useState, useEffect, useMemo, useRef, useCallback };
