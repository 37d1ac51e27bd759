/**
 * Python scripts the run-watching tests execute in a real terminal or task. Shared by the extension-host suite
 * (test/vscode/suite/watch.test.ts) and the browser e2e (test/vscode/e2e/watch.e2e.ts).
 */

/** Prints `argv[1]` MB of training-log lines (1 MB blocks), then one final score: val_rmse 0.4321. */
export const BIG_OUTPUT_PY = `import sys
mb = int(sys.argv[1])
line = "step 123456 loss: 0.123456 - some progress text to fill the line ......................\\n"
block = line * (1_000_000 // len(line))
for i in range(mb):
    sys.stdout.write(block)
sys.stdout.write("val_rmse: 0.4321\\n")
sys.stdout.flush()
`;
