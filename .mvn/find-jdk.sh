# Sourced by ./mvnw, ./llmwb and .ci/run: makes sure JAVA_HOME points at a JDK >= 21.
# Keeps a JAVA_HOME that is already >= 21; otherwise tries the java on PATH, then the newest
# JDK under /usr/lib/jvm, /usr/java and /opt/java. Prints why when none is found.
llmwb_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/.*java.specification.version = //p' | head -n 1 | cut -d. -f1
}
llmwb_find_jdk() {
  local cand v
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    v=$(llmwb_java_major "$JAVA_HOME"); [ "${v:-0}" -ge 21 ] 2>/dev/null && return 0
    echo "llmwb: JAVA_HOME=$JAVA_HOME is Java ${v:-?}; looking for a JDK >= 21" >&2
  fi
  if command -v javac >/dev/null 2>&1; then
    cand=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    v=$(llmwb_java_major "$cand"); [ "${v:-0}" -ge 21 ] 2>/dev/null && { export JAVA_HOME=$cand; return 0; }
  fi
  for cand in $(ls -d /usr/lib/jvm/*/ /usr/java/*/ /opt/java/*/ 2>/dev/null | sort -rV); do
    cand=${cand%/}
    [ -x "$cand/bin/javac" ] || continue
    v=$(llmwb_java_major "$cand"); [ "${v:-0}" -ge 21 ] 2>/dev/null && { export JAVA_HOME=$cand; return 0; }
  done
  echo "llmwb: no JDK >= 21 found. Install one (e.g. Temurin 21 or 25) and set JAVA_HOME." >&2
  return 1
}
llmwb_find_jdk || exit 1
