//! The container images of the controller and the speaker: `scripts/build-images.sh` lays
//! out their build contexts with a static binary and nothing else, which runs in a chroot
//! of the rootfs (all `FROM scratch` gives) as nobody, the user the image and the manifests
//! name; and the image names agree everywhere: the script's tags, the manifests' `image:`
//! lines and the README's table. (mini-router's image, with its Docker run, is tested in
//! mini-router/tests/image.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn script() -> Command {
    Command::new(workspace().join("scripts/build-images.sh"))
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `IMAGE TAG` lines of `--print-tags`.
fn tags() -> BTreeMap<String, String> {
    output(script().arg("--print-tags"))
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(image, tag)| (image.to_owned(), tag.to_owned()))
        .collect()
}

#[test]
fn image_names_agree_between_script_manifests_and_readme() {
    let tags = tags();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        tags.keys().map(String::as_str).collect::<Vec<_>>(),
        ["controller", "mini-router", "speaker"]
    );
    for (image, tag) in &tags {
        assert_eq!(tag, &format!("ferrolb/{image}:v{version}"));
    }
    let manifest = std::fs::read_to_string(workspace().join("manifests/metallb.yaml")).unwrap();
    let images: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("image: "))
        .collect();
    assert_eq!(images, [&tags["controller"], &tags["speaker"]]);
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    for tag in tags.values() {
        assert!(
            readme.contains(&format!("`{tag}`")),
            "README.md does not name {tag}"
        );
    }
    let mentioned = readme.matches("`ferrolb/").count();
    assert_eq!(
        mentioned,
        tags.len(),
        "README.md names other ferrolb images"
    );
}

/// No program interpreter and no NEEDED libraries: runs with no libc beside it.
fn is_static(file: &Path) -> bool {
    let headers = output(Command::new("readelf").arg("-lW").arg(file));
    let dynamic = output(Command::new("readelf").arg("-dW").arg(file));
    headers.contains("Program Headers")
        && !headers.contains("INTERP")
        && !dynamic.contains("(NEEDED)")
}

#[test]
fn controller_and_speaker_contexts_hold_one_static_binary_that_runs_as_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("contexts");
    output(
        script()
            .args(["--context-only", "--context"])
            .arg(&root)
            .args(["controller", "speaker"]),
    );
    for image in ["controller", "speaker"] {
        let context = root.join(image);
        let rootfs = context.join("rootfs");
        let entries = |d: &Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(entries(&context), ["Dockerfile", "rootfs"], "{image}");
        assert_eq!(
            entries(&rootfs),
            ["bin"],
            "{image}: the rootfs has only bin/"
        );
        assert_eq!(entries(&rootfs.join("bin")), [image], "{image}: one binary");
        let binary = rootfs.join("bin").join(image);
        assert!(is_static(&binary), "{} is not static", binary.display());

        let dockerfile = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
        let image_stage: Vec<&str> = dockerfile
            .lines()
            .skip_while(|l| *l != "FROM scratch AS image")
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            image_stage,
            [
                "FROM scratch AS image",
                "COPY rootfs/ /",
                "USER 65534:65534",
                &format!("ENTRYPOINT [\"/bin/{image}\"]"),
            ],
            "{image}: the offline stage comes first and runs the binary as nobody"
        );

        // In a chroot of the rootfs there is no libc and no /etc: what FROM scratch gives.
        let out = Command::new("chroot")
            .arg("--userspec=65534:65534")
            .arg(&rootfs)
            .args([&format!("/bin/{image}"), "--version"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // chroot's own failures (126: cannot execute, 127: not found) mean it never ran.
        assert!(
            !matches!(out.status.code(), Some(125..=127)),
            "{image} did not run in the chroot: {text}"
        );
        if image == "controller" || out.status.success() {
            assert_eq!(
                text.trim(),
                format!("{image} {}", env!("CARGO_PKG_VERSION")),
                "{image} --version"
            );
        } else {
            // A speaker that refuses to start still ran: it says so itself.
            assert!(text.starts_with("speaker: "), "{text}");
        }
    }
}
