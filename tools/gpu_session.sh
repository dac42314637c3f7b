#!/usr/bin/env bash
# What ran on the lent GPU machine (device tool): bash tools/gpu_session.sh STAGE...
# Stages: setup (wheels carried in .whl/, versions), tests (the CUDA tests), bench (python -m gancourse.bench),
# together (at once on the one GPU: $RECIPES via tools/dcgan_recipes.py, $TOYS via tools/toy_targets.py as
# target:seed words, with $TOY_ARGS such as "--decay-from 10000 --ema 0.999", and the notebooks $PAR_NB in the gpu
# profile via tools/run_notebook.py), toy:TARGET:SEED (one toy run alone), nb:NAME (one notebook), ensemble (the
# step time of K = 1, 4, 12 toy GANs trained as one: python -m gancourse.bench.ensemble, $ENSEMBLE_ARGS).
# Logs go to $OUT/logs (the device tool's return folder, or ./gpu-out), packed into $OUT/logs.tgz at the end.
set -u
OUT=${OUT:-gpu-out}; LOG=$OUT/logs; mkdir -p "$LOG"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export PYTHONPATH=/tmp/site:$PWD
if [ -d .whl ] && [ ! -d /tmp/site/mlxtend ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
trap 'tar czf "$OUT/logs.tgz" -C "$OUT" logs' EXIT
nb() {  # run one notebook in the gpu profile; log and time it
  local name=$1 t0=$SECONDS rc
  GANCOURSE_PROFILE=gpu timeout "${NB_TIMEOUT:-3000}" python3 tools/run_notebook.py "notebooks/$name.ipynb" > "$LOG/nb_$name.log" 2>&1
  rc=$?
  echo "notebook $name (gpu profile): rc=$rc in $((SECONDS - t0)) s"
  grep -v "it/s\]" "$LOG/nb_$name.log" | tail -n "${NB_TAIL:-25}"
}
for stage in "$@"; do
  t0=$SECONDS
  echo "===== $stage ($(date -u +%H:%M:%S))"
  case $stage in
    setup)
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv
      python3 -c "import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name())" ;;
    tests)
      python3 -m pytest -o addopts="" -p no:cacheprovider -q -s tests/test_fastpath.py 2>&1 | tee "$LOG/tests.log" | tail -n 30
      [ "${PIPESTATUS[0]}" = 0 ] || echo "CUDA TESTS FAILED (going on)" ;;
    bench)
      python3 -m gancourse.bench ${BENCH_ARGS:-} --json "$LOG/bench.json" 2>&1 | tee "$LOG/bench.log" | grep -v "it/s" ;;
    together)
      for r in ${RECIPES:-}; do
        python3 tools/dcgan_recipes.py "$r" --steps "${RECIPE_STEPS:-20000}" --eval-every "${RECIPE_EVAL:-4000}" \
          --out "$LOG/recipes.jsonl" > "$LOG/recipe_$r.log" 2>&1 &
      done
      for t in ${TOYS:-}; do
        timeout "${TOY_TIMEOUT:-3000}" python3 tools/toy_targets.py ${t%%:*} ${t##*:} ${TOY_ARGS:-} >> "$LOG/toys.jsonl" 2> "$LOG/toy_${t/:/_}.err" &
      done
      for n in ${PAR_NB:-}; do nb "$n" & done
      wait
      [ -z "${TOYS:-}" ] || { echo "toy runs:"; cat "$LOG/toys.jsonl"; tail -n 3 "$LOG"/toy_*.err; }
      [ -z "${RECIPES:-}" ] || tail -n 2 "$LOG"/recipe_*.log ;;
    captured)
      python3 -m pytest -o addopts="" -p no:cacheprovider -q -s -k captured tests/test_fastpath.py tests/test_conditional.py \
        tests/test_cvae.py tests/test_ensemble.py 2>&1 | tee "$LOG/captured.log" | grep -E "largest|passed|failed|^E " | head -n 40 ;;
    ensemble) python3 -m gancourse.bench.ensemble ${ENSEMBLE_ARGS:-} 2>&1 | tee "$LOG/ensemble.log" | grep -v "it/s" ;;
    conditional) timeout "${COND_TIMEOUT:-600}" python3 tools/conditional_gpu.py ${COND_ARGS:-10000 2500} 2>&1 | tee "$LOG/conditional.log" | grep -v "it/s" ;;
    toy:*) t=${stage#toy:}; timeout "${TOY_TIMEOUT:-3000}" python3 tools/toy_targets.py ${t%%:*} ${t##*:} ${TOY_ARGS:-} 2>&1 | tee "$LOG/toy_alone.log" ;;
    nb:*) nb "${stage#nb:}" ;;
    *) echo "unknown stage $stage"; exit 2 ;;
  esac
  echo "===== $stage took $((SECONDS - t0)) s"
done
