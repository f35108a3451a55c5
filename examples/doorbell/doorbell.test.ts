// SPDX-License-Identifier: GPL-2.0-only
// The mocha test of the example chip: one line runs the whole irq_chip
// conformance suite on it. Run it alone with
//   npx mocha --no-config --node-option import=tsx --require test/hooks.ts examples/doorbell/doorbell.test.ts
// (npm test runs it through test/examples/examples.test.ts).

import { describeIrqChipConformance } from "../../lib/review/conformance.ts";
import { subject } from "../doorbell-chip.ts";

describeIrqChipConformance(subject.name, subject.factory, subject.options);
