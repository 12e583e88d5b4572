# shellcheck shell=bash
# Sourced by bench/*.sh: what this CPU is and which OpenBLAS kernel sets it
# can run, from /proc/cpuinfo (the flags are CPUID's feature bits as the
# kernel reports them, so a VM that hides AVX-512 shows no avx512f here).

cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "

# cpu_has FLAG...: true when the CPU has every one.
cpu_has() {
  local f
  for f; do [[ $cpu_flags == *" $f "* ]] || return 1; done
}

# The widest vector instruction set OpenBLAS and ATen can use here.
cpu_isa() {
  if cpu_has avx512f avx512bw avx512dq avx512vl; then echo avx512
  elif cpu_has avx2 fma; then echo avx2
  else echo sse; fi
}

# The flags that decide the kernels, as "avx512f yes, avx2 yes, fma yes".
cpu_flag_summary() {
  local f out=
  for f in avx512f avx2 fma; do
    if cpu_has "$f"; then out+="${out:+, }$f yes"; else out+="${out:+, }$f no"; fi
  done
  echo "$out"
}

# A name for this kind of CPU, for file names: the model name in lower case
# with runs of other characters as one '-', then the instruction set (two
# VMs that both say "AMD EPYC" may differ in what they expose).
cpu_kind() {
  echo "$(echo "$cpu_model" | tr '[:upper:]' '[:lower:]' | sed 's/([^)]*)//g; s/[^a-z0-9]\{1,\}/-/g; s/^-//; s/-$//')-$(cpu_isa)"
}

# The OpenBLAS core types worth trying for a peer that does not choose its
# own well: "auto" (OPENBLAS_CORETYPE unset: OpenBLAS's own detection, which
# may fall back to a slow generic core on a CPU it does not know), then each
# named core whose instructions this CPU has. A core it lacks would die with
# "Illegal instruction": SkylakeX needs AVX-512 F, BW, DQ and VL; Haswell
# needs AVX2 and FMA.
cpu_blas_cores() {
  local cores=(auto)
  cpu_has avx2 fma && cores+=(Haswell)
  cpu_has avx512f avx512bw avx512dq avx512vl && cores+=(SkylakeX)
  echo "${cores[@]}"
}
