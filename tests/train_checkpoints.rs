//! `convscope train --checkpoints`: the weights after chosen epochs are saved beside the final
//! file and listed in the run record, which the feature-evolution view reads.

use convscope::train::RunRecord;
use std::process::Command;

#[test]
fn checkpoints_are_saved_and_recorded() {
    let dir = std::env::temp_dir().join(format!("convscope-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("lab_k5.safetensors");
    let status = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(["train", "lab_k5", "--limit", "256", "--epochs", "3"])
        .args(["--checkpoints", "1,3,7", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let record =
        RunRecord::from_json(&std::fs::read_to_string(RunRecord::path_for(&out)).unwrap()).unwrap();
    let epochs: Vec<usize> = record.checkpoints.iter().map(|c| c.epoch).collect();
    // Epoch 7 is past the run's end and is skipped.
    assert_eq!(epochs, [1, 3]);
    assert_eq!(record.checkpoints[0].file, "lab_k5.epoch1.safetensors");
    for c in &record.checkpoints {
        let report = &record.epochs[c.epoch - 1];
        assert_eq!(Some(c.test_accuracy), report.test_accuracy);
    }
    let read = |epoch| std::fs::read(RunRecord::checkpoint_path(&out, epoch)).unwrap();
    let last = std::fs::read(&out).unwrap();
    // The last epoch's checkpoint is the final weights; the first is not.
    assert_eq!(read(3), last);
    assert_ne!(read(1), last);
    assert!(
        record.command.contains("--checkpoints 1,3,7"),
        "{}",
        record.command
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
