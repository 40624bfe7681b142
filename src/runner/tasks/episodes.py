"""The episode loop's tasks (reinforcement learning): train an agent in an env
(`run model=dqn env=cartpole`) and evaluate an agent checkpoint with greedy episodes.

The run dir layout, metrics.json, run.json and the error rules are the fit tasks' own.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping, Optional

import numpy as np

from adl_runner.kernel.agents import Agent, AgentContext, EnvHandle
from adl_runner.kernel.errors import IncompatibleError, RunnerError
from adl_runner.kernel.phases import PhaseRunner, RestoredPhases
from adl_runner.kernel.registry import MODELS, Entry
from adl_runner.kernel.specs import EpisodeSpec
from adl_runner.runner.artifacts import ArtifactWriter
from adl_runner.runner.loops import episodes as loop
from adl_runner.runner.phases import RunPhases
from adl_runner.runner.progress import start_line
from adl_runner.runner.resolve import Job, env_entry, typed_options
from adl_runner.runner.rundir import RunDir
from adl_runner.runner.stages import STAGES
from adl_runner.runner.tasks.common import already_done, check_resumable, configure_tensorflow, finish, write_config
from adl_runner.runner.tasks.registry import task

log = logging.getLogger("runner")

RESUME_KEYS = ("model", "env", "optimizer", "seed", "trainer.batch_size")
"""The config groups a job must share with the run it resumes (training checkpoints and phases)."""


def build_env(node: Optional[Mapping[str, Any]], render_mode: Optional[str] = None) -> EnvHandle:
    entry, options = env_entry(node)
    return entry.build(options, render_mode=render_mode)


def build_agent(model: Entry[Any, Any], model_options: Any, env: EnvHandle, job: Job, phases: PhaseRunner) -> Agent:
    """`phases` runs the agent's pre-training (the policy-gradient state autoencoder)."""
    spec: EpisodeSpec = model.spec
    problem = spec.accepts(model_options, env) if spec.accepts is not None else None
    if problem:
        raise IncompatibleError(f"model '{model.name}' cannot run on env '{env.name}': {problem}")
    optimizer = (lambda: job.optimizer.build(job.optimizer_options)) if spec.uses_optimizer else None
    context = AgentContext(seed=job.seed, optimizer=optimizer, batch_size=job.trainer.batch_size, log=log.info,
                           pretrain_epochs_cap=job.trainer.caps.pretrain_epochs, phases=phases)
    return model.build(model_options, env, context)


# -- train -----------------------------------------------------------------------------------------
@task("episodes", "train")
def train(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    rundir.recover_dir(rundir.last_checkpoint_dir)
    with rundir.removed_if_failed_fresh():
        env = build_env(job.env)
        rundir.ensure_writable()
        configure_tensorflow(job)
        agent = build_agent(job.model, job.model_options, env, job, RunPhases.for_job(rundir, job, RESUME_KEYS))
        episodes = job.trainer.episode_budget(getattr(agent, "default_episodes", 1000))
        log.info(start_line("train", job.model.name, env.name, f"{episodes} episodes", rundir.path))
        STAGES.lap("build")
        done = rundir.read_json("metrics.json")
        resuming = rundir.last_checkpoint_dir.exists()
        if resuming:
            check_resumable(rundir, job, RESUME_KEYS)
        if done and done.get("status") == "completed" and done.get("solved") and agent.stop_when_solved:
            log.info("%s already holds this run, solved at episode %s; nothing to do", rundir.path, done.get("episodes_to_solve"))
            return done
        if already_done(rundir, done, "episodes", episodes):
            return done
        history = loop.History()
        if resuming:
            meta = loop.read_checkpoint_meta(rundir.last_checkpoint_dir)
            if meta.get("agent") != job.model.name:
                raise IncompatibleError(f"run dir {rundir.path} holds a '{meta.get('agent')}' agent, not '{job.model.name}'")
            saved, arrays = loop.load_agent_state(rundir.last_checkpoint_dir, meta)
            try:
                agent.set_state(saved)
            except (KeyError, ValueError) as exc:
                raise IncompatibleError(f"checkpoint {rundir.last_checkpoint_dir} does not fit this agent: {exc}") from None
            history = loop.History.from_arrays(arrays, meta.get("solved_at"))
            loop.restore_env_rng(env, job.seed, meta["env_rng"])
    write_config(rundir, job)
    if job.logger.summary:
        rundir.write_text("model_summary.txt", agent.summary())
    resumed_from = len(history) if resuming else None
    if resuming:
        log.info("resuming from %s: %d of %d episodes done", rundir.last_checkpoint_dir, len(history), episodes)
    meta = {"agent": job.model.name, "env": env.name, "gym_id": env.gym_id,
            "model_config": job.config["model"], "env_config": job.env, "seed": job.seed}
    already_solved = history.solved_at is not None and agent.stop_when_solved
    result = None
    if len(history) < episodes and not already_solved:
        result = loop.train_episodes(agent, env, rundir, episodes=episodes, seed=job.seed, history=history,
                                     checkpoint_every=job.trainer.checkpoint_every, verbose=job.trainer.verbose, meta=meta,
                                     loss_bound=job.trainer.loss_bound)
    STAGES.lap("train")
    metrics = _episode_metrics(job, env, history)
    metrics.update({"task": "train", "resumed_from_episode": resumed_from, "episodes_target": episodes})
    if result is not None:
        metrics.update({"env_steps": result.env_steps, "train_seconds": round(result.seconds, 3),
                        "env_steps_per_s": round(result.env_steps / max(result.seconds, 1e-9), 1)})
    eval_env = build_env(job.env)
    log.info("evaluating the greedy policy and random actions over %d episodes each", job.trainer.eval_episodes)
    greedy = loop.evaluate_episodes(agent, eval_env, job.trainer.eval_episodes, job.seed + 10_000)
    random = loop.evaluate_episodes(agent, eval_env, job.trainer.eval_episodes, job.seed + 20_000, random=True)
    metrics.update({f"eval_{k}": v for k, v in greedy.items()})
    metrics.update({f"random_{k}": v for k, v in random.items()})
    STAGES.lap("evaluation")
    if job.logger.plots:
        metrics.update(agent.artifacts(ArtifactWriter(rundir)))
        plot_history(rundir, history, env)
    rundir.write_text("history.csv", history.csv())
    metrics["status"] = "completed"
    env.close()
    eval_env.close()
    return finish(rundir, job, started, metrics)


def _episode_metrics(job: Job, env: EnvHandle, history: loop.History) -> dict[str, Any]:
    c = history.columns
    return {
        "model": job.model.name, "env": env.name, "gym_id": env.gym_id, "seed": job.seed,
        "episodes_completed": len(history),
        f"mean_return_{env.solved_window}": history.mean_return(env.solved_window),
        "mean_return_100": history.mean_return(100),
        "solved": history.solved_at is not None if env.solved_threshold is not None else None,
        "solved_threshold": env.solved_threshold,
        "episodes_to_solve": history.solved_at,
        "success_rate": float(np.mean(c["success"])) if c["success"] else None,
        "successes": int(sum(c["success"])),
        "epsilon": c["epsilon"][-1] if c["epsilon"] and np.isfinite(c["epsilon"][-1]) else None,
        **env.notes,
    }


# -- evaluate --------------------------------------------------------------------------------------
@task("episodes", "evaluate")
def evaluate(job: Job, rundir: RunDir) -> dict[str, Any]:
    started = time.time()
    with rundir.removed_if_failed_fresh():
        if job.ckpt is None:
            raise RunnerError("task=evaluate needs ckpt=<run dir>/checkpoints/last")
        folder = loop.checkpoint_folder(job.ckpt)
        meta = loop.read_checkpoint_meta(folder)
        agent_name = str(meta.get("agent"))
        if job.model.name != agent_name:
            raise IncompatibleError(f"checkpoint {folder} holds a '{agent_name}' agent, not '{job.model.name}'; "
                                    f"evaluate it with model={agent_name} (or leave model= out)")
        _, model_options = typed_options(MODELS, meta["model_config"], "model")
        env_node = job.env if job.chose("env") and job.env is not None else meta["env_config"]
        env = build_env(env_node)
        configure_tensorflow(job)
        # Nothing pre-trained: the trained run's checkpoint replaces what a phase would train (the
        # policy-gradient state autoencoder took minutes at the book's size for nothing).
        agent = build_agent(job.model, model_options, env, job, RestoredPhases())
        saved, _ = loop.load_agent_state(folder, meta)
        try:
            agent.set_state(saved)
        except (KeyError, ValueError) as exc:
            raise IncompatibleError(f"checkpoint {folder} does not fit a '{agent_name}' agent on env '{env.name}': {exc}") from None
        frames_env = _render_env(env_node) if job.gif else None
    write_config(rundir, job)
    result = loop.evaluate_episodes(agent, env, job.trainer.eval_episodes, job.seed + 10_000)
    metrics: dict[str, Any] = {
        "task": "evaluate", "checkpoint": str(folder), "model": agent_name, "env": env.name, "gym_id": env.gym_id,
        "seed": job.seed, "trained_episodes": meta.get("episodes_completed"),
        **{f"eval_{k}": v for k, v in result.items()}, **env.notes,
    }
    if frames_env is not None:
        frames: list = []
        ret, steps, _ = loop.run_episode(agent, frames_env, learn=False, greedy=True, seed=job.seed, frames=frames)
        metrics["gif"] = str(ArtifactWriter(rundir).episode_animation(frames))
        metrics["gif_return"] = ret
        frames_env.close()
    print(f"Greedy episodes: {result['episodes']}, mean return {result['mean_return']:.2f} ± {result['std_return']:.2f}, "
          f"success rate {100 * result['success_rate']:.1f}%")
    metrics["status"] = "completed"
    env.close()
    return finish(rundir, job, started, metrics)


def _render_env(env_node: Any) -> EnvHandle:
    """An env rendering rgb_array frames, probed once so that a missing pygame fails before any work."""
    env = None
    try:
        env = build_env(env_node, render_mode="rgb_array")
        env.env.reset(seed=0)
        env.env.render()
        return env
    except Exception as exc:  # gymnasium raises DependencyNotInstalled (pygame) at make or at the first render
        if env is not None:
            env.close()
        if "pygame" in str(exc).lower() or type(exc).__name__ == "DependencyNotInstalled":
            raise RunnerError("gif=true needs pygame for this env's rgb_array rendering: "
                              "pip install 'adl-runner[render]' (gymnasium[classic-control])") from None
        raise


# -- figures ---------------------------------------------------------------------------------------
def plot_history(rundir: RunDir, history: loop.History, env: EnvHandle) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = ArtifactWriter(rundir)
    returns = np.asarray(history.columns["return"])
    if not len(returns):
        return
    episodes = np.arange(1, len(returns) + 1)
    window = env.solved_window
    running = np.convolve(returns, np.ones(window), "full")[: len(returns)] / np.minimum(episodes, window)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(episodes, returns, lw=0.6, alpha=0.5, label="return")
    ax.plot(episodes, running, lw=1.5, label=f"mean over {window}")
    if env.solved_threshold is not None:
        ax.axhline(env.solved_threshold, color="k", ls="--", lw=0.8, label=f"solved ({env.solved_threshold:g})")
    if history.solved_at:
        ax.axvline(history.solved_at, color="g", ls=":", lw=1, label=f"solved at {history.solved_at}")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.figure("returns", fig)
    eps = np.asarray(history.columns["epsilon"])
    if np.isfinite(eps).any():
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(episodes, eps)
        ax.set_xlabel("episode")
        ax.set_ylabel("epsilon")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out.figure("epsilon", fig)
