// The stack suite (tests/support/stack-suite.ts) with its state on the file backend.
import { describeStackSuite } from "../support/stack-suite";

describeStackSuite("file");
