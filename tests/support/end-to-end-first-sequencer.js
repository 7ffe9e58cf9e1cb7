// Jest runs the files on two workers, and a run lasts as long as its last file. The end-to-end files
// (the real engine, minutes each) start first, longest first, so that the quick unit files fill the
// workers' last minutes instead of one long end-to-end file running alone at the end. Jest's own
// timings from an earlier run come first; on a fresh clone (CI) the seconds each end-to-end file took
// in a full run (tests/e2e/expected-seconds.json) stand in, since Jest's fallback, file size, puts
// the slowest files (small ones driving many engine runs) last. Plain JavaScript: Jest loads it
// before any transform.
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;
const expectedSeconds = require("../e2e/expected-seconds.json");

const isEndToEnd = (test) => /[\\/]tests[\\/]e2e[\\/]/.test(test.path);
const expected = (test) => expectedSeconds[path.basename(test.path)] ?? 0;

class EndToEndFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const endToEnd = sorted.filter(isEndToEnd);
    // Without Jest's timings for every end-to-end file, the recorded seconds order them (stable sort).
    if (endToEnd.some((test) => test.duration == null)) endToEnd.sort((a, b) => expected(b) - expected(a));
    return [...endToEnd, ...sorted.filter((test) => !isEndToEnd(test))];
  }
}

module.exports = EndToEndFirstSequencer;
