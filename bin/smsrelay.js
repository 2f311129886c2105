#!/usr/bin/env node
// Thin launcher so `npx smsrelay …` and the package bin run the compiled CLI.
import '../dist/cli/main.js';
