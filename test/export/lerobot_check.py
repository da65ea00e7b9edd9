"""Load an exported LeRobot dataset the way LeRobot does (pyarrow + HF `datasets` with the declared
features) and check it. Prints a JSON list, one object per dataset: the checks that failed, and the decoded
observation.state / timestamps / episode boundaries for the TypeScript test to compare with the store.

    python3 lerobot_check.py <dataset-dir>...

Written for reel2real's tests; it mirrors LeRobot's loading steps (info.json -> datasets.Features,
Dataset.from_parquet(data files, features=...), meta/episodes parquet or jsonl, tasks, stats) rather than
importing LeRobot, which is not installable here.
"""
import json
import sys
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

def hf_features(features):
    # LeRobot's get_hf_features_from_features: shape (1,) -> Value, 1-D -> Sequence(length=n)
    out = {}
    for key, ft in features.items():
        shape = tuple(ft["shape"])
        if shape == (1,):
            out[key] = datasets.Value(dtype=ft["dtype"])
        elif len(shape) == 1:
            out[key] = datasets.Sequence(length=shape[0], feature=datasets.Value(dtype=ft["dtype"]))
        else:
            raise ValueError(f"unexpected feature {key}: {ft}")
    return datasets.Features(out)


def check_dataset(root):
    problems = []

    def check(cond, msg):
        if not cond:
            problems.append(msg)

    info = json.loads((root / "meta/info.json").read_text())
    version = info["codebase_version"]
    features = info["features"]
    fps = info["fps"]
    hf = hf_features(features)
    cache = str(root.parent / (root.name + ".hf-cache"))

    for key in ["timestamp", "frame_index", "episode_index", "index", "task_index"]:
        check(key in features, f"default feature {key} not declared")
    for key, ft in features.items():
        check(isinstance(ft.get("names", None), (list, type(None))), f"{key}: names must be a list or null")
        if ft["names"] is not None:
            check(len(ft["names"]) == int(np.prod(ft["shape"])), f"{key}: {len(ft['names'])} names for shape {ft['shape']}")

    if version == "v3.0":
        data_files = sorted(str(p) for p in (root / "data").glob("*/*.parquet"))
        for f in data_files:
            cols = set(pq.read_schema(f).names)
            check(cols == set(features), f"{f}: columns {sorted(cols ^ set(features))} differ from info.json features")
        ds = datasets.Dataset.from_parquet(data_files, features=hf, cache_dir=cache)
        ep_files = sorted(str(p) for p in (root / "meta/episodes").glob("*/*.parquet"))
        episodes = datasets.Dataset.from_parquet(ep_files, cache_dir=cache)
        stat_cols = [c for c in episodes.column_names if c.startswith("stats/")]
        for key in features:
            for s in ["min", "max", "mean", "std", "count"]:
                check(f"stats/{key}/{s}" in stat_cols, f"episodes parquet lacks stats/{key}/{s}")
        episodes = episodes.select_columns([c for c in episodes.column_names if not c.startswith("stats/")])
        episodes = episodes.sort("episode_index")
        tasks = pd.read_parquet(root / "meta/tasks.parquet")
        tasks.index.name = "task"
        eps = []
        for ep in episodes:
            data_path = root / info["data_path"].format(chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"])
            check(data_path.exists(), f"episode {ep['episode_index']}: {data_path} missing")
            in_file = pq.read_table(data_path, columns=["episode_index"]).column(0).to_numpy()
            check(int((in_file == ep["episode_index"]).sum()) == ep["length"], f"episode {ep['episode_index']}: not all its rows are in its data file")
            eps.append({
                "episode_index": ep["episode_index"], "from": ep["dataset_from_index"], "to": ep["dataset_to_index"],
                "length": ep["length"], "task": ep["tasks"][0],
            })
        task_of = lambda ti: tasks.iloc[ti].name  # noqa: E731  (LeRobot: self.meta.tasks.iloc[task_idx].name)
    else:
        episodes_jsonl = [json.loads(l) for l in (root / "meta/episodes.jsonl").read_text().splitlines() if l.strip()]
        tasks_jsonl = {t["task_index"]: t["task"] for t in map(json.loads, (root / "meta/tasks.jsonl").read_text().splitlines())}
        ep_stats = [json.loads(l) for l in (root / "meta/episodes_stats.jsonl").read_text().splitlines() if l.strip()]
        check(len(ep_stats) == len(episodes_jsonl), "episodes_stats.jsonl and episodes.jsonl differ in length")
        for es in ep_stats:
            for key in features:
                check(key in es["stats"], f"episode {es['episode_index']} stats lack {key}")
        paths = []
        eps = []
        start = 0
        for ep in sorted(episodes_jsonl, key=lambda e: e["episode_index"]):
            i = ep["episode_index"]
            p = root / info["data_path"].format(episode_chunk=i // info["chunks_size"], episode_index=i)
            check(p.exists(), f"{p} missing")
            cols = set(pq.read_schema(p).names)
            check(cols == set(features), f"{p}: columns {sorted(cols ^ set(features))} differ from info.json features")
            paths.append(str(p))
            eps.append({"episode_index": i, "from": start, "to": start + ep["length"], "length": ep["length"], "task": ep["tasks"][0]})
            start += ep["length"]
        ds = datasets.Dataset.from_parquet(paths, features=hf, cache_dir=cache)
        task_of = lambda ti: tasks_jsonl[ti]  # noqa: E731
        modality = json.loads((root / "meta/modality.json").read_text())
        n_state = features["observation.state"]["shape"][0]
        covered = []
        for name, r in modality["state"].items():
            key = r.get("original_key", "observation.state")
            check(key in features, f"modality state {name}: {key} is not a feature")
            check(0 <= r["start"] < r["end"] <= features[key]["shape"][0], f"modality state {name}: bad range {r}")
            if key == "observation.state":
                covered += list(range(r["start"], r["end"]))
        check(sorted(covered) == list(range(n_state)), "modality state ranges do not cover observation.state exactly once")

    check(len(ds) == info["total_frames"], f"{len(ds)} frames, info.json says {info['total_frames']}")
    check(len(eps) == info["total_episodes"], f"{len(eps)} episodes, info.json says {info['total_episodes']}")
    check(ds.features == hf, "loaded features differ from the declared ones")

    ds_np = ds.with_format("numpy")
    out_eps = []
    for ep in eps:
        rows = ds_np[ep["from"]:ep["to"]]
        check(bool((rows["episode_index"] == ep["episode_index"]).all()), f"episode {ep['episode_index']}: rows of other episodes in its range")
        check(rows["frame_index"].tolist() == list(range(ep["length"])), f"episode {ep['episode_index']}: frame_index is not 0..len-1")
        # LeRobot's check_timestamps_sync: consecutive timestamps 1/fps apart within tolerance_s = 1e-4
        ts = rows["timestamp"]
        check(bool(np.all(np.abs(np.diff(ts) - 1.0 / fps) <= 1e-4)), f"episode {ep['episode_index']}: timestamps out of sync")
        check(float(np.max(np.abs(ts - rows["frame_index"] / fps))) <= 1e-6, f"episode {ep['episode_index']}: timestamp != frame_index/fps")
        check(task_of(int(rows["task_index"][0])) == ep["task"], f"episode {ep['episode_index']}: task_index does not name its task")
        check(rows["observation.state"].dtype == np.float32 and rows["observation.state"].shape == (ep["length"], features["observation.state"]["shape"][0]), "state is not float32 [T,n]")
        out_eps.append({**ep, "state": rows["observation.state"].tolist(), "action": rows["action"].tolist(),
                        "root_quat": rows["observation.root_quat"].tolist(), "index": rows["index"].tolist()})

    stats = json.loads((root / "meta/stats.json").read_text())
    for key, ft in features.items():
        check(key in stats, f"stats.json lacks {key}")
        if key in stats:
            for s in ["min", "max", "mean", "std"]:
                check(np.array(stats[key][s]).shape == tuple(ft["shape"]), f"stats {key}/{s} shape {np.array(stats[key][s]).shape} != {ft['shape']}")
            check(stats[key]["count"] == [info["total_frames"]], f"stats {key}/count")
    state_all = np.asarray(ds_np["observation.state"])
    check(np.allclose(stats["observation.state"]["mean"], state_all.mean(axis=0), atol=1e-5), "stats.json state mean disagrees with the data")
    check(np.allclose(stats["observation.state"]["std"], state_all.std(axis=0), atol=1e-5), "stats.json state std disagrees with the data")

    return {"version": version, "problems": problems, "episodes": out_eps, "features": list(ds.features)}


print(json.dumps([check_dataset(Path(d)) for d in sys.argv[1:]]))
