// Jest runs the files on two workers, and a run lasts as long as its last file. The end-to-end files
// (the real engine, minutes each) start first, longest first when Jest has timings from an earlier run
// (by size otherwise), so that the quick unit files fill the workers' last minutes instead of one long
// end-to-end file running alone at the end. Plain JavaScript: Jest loads it before any transform.
const Sequencer = require("@jest/test-sequencer").default;

const isEndToEnd = (test) => /[\\/]tests[\\/]e2e[\\/]/.test(test.path);

class EndToEndFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter(isEndToEnd), ...sorted.filter((test) => !isEndToEnd(test))];
  }
}

module.exports = EndToEndFirstSequencer;
