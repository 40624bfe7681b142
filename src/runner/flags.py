"""The `run` command's flags, checked before Hydra parses them.

Hydra answers an unknown flag with argparse's usage block, and two of its modes at once
(`-m ... --cfg job`) or `--shell-completion` without a subcommand with a Python traceback; here
each is one line saying what to do. No Hydra and no TensorFlow: `run --version` stays instant.
"""

from __future__ import annotations

import platform

from adl_runner.kernel.provenance import package_versions

_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i",
               "--shell-completion", "-sc", "--resolve", "--package", "-p"}
"""Flags that make Hydra print something instead of running a job: nothing to validate."""
_FLAGS_WITH_VALUE = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                     "--cfg", "-c", "--package", "-p", "--info", "-i"}
_REFUSED_FLAGS = {"--experimental-rerun": "it unpickles the file it is given (a pickle runs code on load); "
                                          "re-run a job with its own command line, or `run ... hydra.run.dir=<its run dir>`"}
"""Hydra's flags the runner refuses, and why: every one that reads a pickle."""
_OTHER_FLAGS = {"-m", "--multirun", "-r", "--run"}
_HELP_FLAGS = {"--help", "-h", "--hydra-help", "--version"}
"""Answered by Hydra before it looks at the other flags."""
_MODES = {"-r": "--run", "--run": "--run", "-m": "--multirun", "--multirun": "--multirun", "-c": "--cfg",
          "--cfg": "--cfg", "-i": "--info", "--info": "--info", "-sc": "--shell-completion",
          "--shell-completion": "--shell-completion"}
"""Hydra's modes, of which one command takes at most one, by their long names."""
COMPLETION_SHELLS = ("bash", "zsh", "fish")
"""The shells of Hydra 1.3's completion plugins (zsh through bash's script, after bashcompinit)."""
INSTALL_COMPLETION = 'eval "$(run --shell-completion install=bash)"'


def split_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """The flags among `argv` (as given, `--cfg=job` included) and the other arguments, the
    overrides; a flag's separate value (`--cfg job`) is neither."""
    flags: list[str] = []
    overrides: list[str] = []
    skip = False
    for arg in argv:
        if skip and not arg.startswith("-"):
            skip = False
        elif arg.startswith("-"):
            flags.append(arg)
            skip = arg in _FLAGS_WITH_VALUE
        else:
            overrides.append(arg)
            skip = False
    return flags, overrides


def split_argv(argv: list[str]) -> tuple[list[str], bool]:
    """The overrides among `argv` and whether -m/--multirun was given."""
    flags, overrides = split_flags(argv)
    return overrides, any(flag in ("-m", "--multirun") for flag in flags)


def unknown_flag(argv: list[str]) -> str | None:
    """The first argument that looks like a flag but is none of Hydra's, as a one-line error
    (argparse would answer it with a usage block and a traceback-free but multi-line message)."""
    known = _INFO_FLAGS | _FLAGS_WITH_VALUE | _OTHER_FLAGS
    for flag in split_flags(argv)[0]:
        if flag.split("=", 1)[0] in _REFUSED_FLAGS:
            return f"{flag.split('=', 1)[0]} is refused: {_REFUSED_FLAGS[flag.split('=', 1)[0]]}"
        if flag.split("=", 1)[0] not in known:
            return f"unknown option '{flag}'; valid: {', '.join(sorted(known))}, or key=value overrides"
    return None


def given(argv: list[str], *names: str) -> bool:
    """Whether any of the flags `names` is among `argv` (`--cfg=job` counts as --cfg)."""
    return any(flag.split("=", 1)[0] in names for flag in split_flags(argv)[0])


def mode_conflict(argv: list[str]) -> str | None:
    """Two of Hydra's modes at once (it raises a ValueError), as one line saying which to drop."""
    if given(argv, *_HELP_FLAGS):
        return None
    names = {flag.split("=", 1)[0] for flag in split_flags(argv)[0]}
    modes = sorted({_MODES[name] for name in names if name in _MODES})
    if len(modes) < 2:
        return None
    others = [mode for mode in modes if mode != "--shell-completion"]
    if len(others) < len(modes):
        return f"--shell-completion prints a shell script and takes no other mode ({', '.join(others)}); run it alone: {INSTALL_COMPLETION}"
    shown = next((mode for mode in ("--cfg", "--info") if mode in modes), None)
    if shown is not None and "--multirun" in modes:
        single = " ".join(arg for arg in argv if arg not in ("-m", "--multirun"))
        return (f"{shown} shows one job, not a sweep: drop -m (--multirun) to see one job's "
                f"{'config' if shown == '--cfg' else 'information'}, e.g. `run {single}` (one value per swept key)")
    return f"only one of --run, --multirun, --cfg, --info, --shell-completion can be given, got {' and '.join(modes)}; keep one"


def shell_completion_problem(argv: list[str]) -> str | None:
    """`--shell-completion` needs exactly one of install=, uninstall=, query= naming a shell Hydra
    completes; Hydra's own answer to anything else is a traceback."""
    if not given(argv, "--shell-completion", "-sc"):
        return None
    commands = [o for o in split_flags(argv)[1] if o.split("=", 1)[0] in ("install", "uninstall", "query")]
    if len(commands) != 1:
        return (f"--shell-completion needs one of install=, uninstall= or query= with a shell ({', '.join(COMPLETION_SHELLS)}); "
                f"to turn on tab completion in bash: {INSTALL_COMPLETION} (zsh: the same, after "
                f"`autoload -Uz bashcompinit && bashcompinit`)")
    command, _, shell = commands[0].partition("=")
    if shell not in COMPLETION_SHELLS:
        return f"--shell-completion {command}={shell}: no completion for '{shell}'; valid: {', '.join(COMPLETION_SHELLS)}"
    return None


def version_line() -> str:
    """What `run --version` prints: the runner's version and the stack's, read from the installed
    packages' metadata (importing TensorFlow would take seconds and print its start-up lines)."""
    versions = package_versions()

    def version(name: str) -> str:
        return versions.get(name, "(not installed)")

    tensorflow = version("tensorflow") if "tensorflow" in versions else version("tensorflow-cpu")
    return (f"run (adl-runner) {version('adl-runner')}; TensorFlow {tensorflow}, Keras {version('keras')}, "
            f"Hydra {version('hydra-core')}, Python {platform.python_version()}")
