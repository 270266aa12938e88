#!/usr/bin/env bash
# Keep the operator chart's CRD byte-identical to manifests/crds/ (the operator owns the source).
#   scripts/sync-crd.sh           copy manifests/crds/tutordeployments.yaml into the chart
#   scripts/sync-crd.sh --check   exit 1 (and say what to run) when the two differ
set -euo pipefail
cd "$(dirname "$0")/.."
source_crd=manifests/crds/tutordeployments.yaml
chart_crd=charts/tutor-operator/crds/tutordeployments.yaml

if [ ! -f "$source_crd" ]; then
  echo "sync-crd: $source_crd does not exist yet (the operator generates it)" >&2
  exit 1
fi
case "${1:-}" in
  --check)
    if cmp -s "$source_crd" "$chart_crd"; then
      echo "sync-crd: $chart_crd matches $source_crd"
    else
      echo "sync-crd: $chart_crd differs from $source_crd; run scripts/sync-crd.sh" >&2
      exit 1
    fi
    ;;
  "")
    cp "$source_crd" "$chart_crd"
    echo "sync-crd: copied $source_crd to $chart_crd"
    ;;
  *)
    echo "usage: scripts/sync-crd.sh [--check]" >&2
    exit 2
    ;;
esac
