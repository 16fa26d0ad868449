#!/bin/sh
# Starts this materialized workbench (no native launcher: includeLaunchers=false).
#   ./llmwb-product.sh [-data WORKSPACE] [more Eclipse arguments]
# Needs a Java >= 21 on PATH or in JAVA_HOME, and a display (use xvfb-run on a headless box).
# LLMWB_VM_ARGS adds JVM options; LLMWB_WORKSPACE moves the workspace (default ~/.llmwb/workspace).
HERE="$(cd "$(dirname "$0")" && pwd)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
LAUNCHER=$(ls "$HERE"/plugins/org.eclipse.equinox.launcher_*.jar | head -n 1)
# shellcheck disable=SC2086
exec "$JAVA" ${LLMWB_VM_ARGS:-} -Dosgi.requiredJavaVersion=21 -Dllmwb.runner.lib="$HERE/runner/lib" -jar "$LAUNCHER" \
  -install "$HERE" \
  -data "${LLMWB_WORKSPACE:-$HOME/.llmwb/workspace}" -consoleLog "$@"
