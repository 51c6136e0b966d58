;; bstune SIMD training kernels (source of truth; assembled to kernels.wasm
;; and kernels-wasm.ts by scripts/build-wasm.mjs).
;;
;; The module imports the tfjs wasm backend's own memory, so every pointer
;; argument is a BYTE offset into the tfjs heap (a tensor's memoryOffset) and
;; outputs are written in place. Sizes are element counts. All float data is
;; f32, NHWC. Nothing here allocates: callers own every buffer.
(module
  (import "env" "memory" (memory 1))

  ;; ---------------------------------------------------------------- helpers

  ;; dst[0..n) += src[0..n); returns nothing.
  (func $addRun (param $d i32) (param $s i32) (param $n i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone
      (loop $v
        (br_if $vdone (i32.gt_u (i32.add (local.get $d) (i32.const 16)) (local.get $e)))
        (v128.store (local.get $d)
          (f32x4.add (v128.load (local.get $d)) (v128.load (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (br $v)))
    (block $done
      (loop $t
        (br_if $done (i32.ge_u (local.get $d) (local.get $e)))
        (f32.store (local.get $d) (f32.add (f32.load (local.get $d)) (f32.load (local.get $s))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (br $t))))

  ;; Writes n zeros at o; returns o + 4n.
  (func $zero (param $o i32) (param $n i32) (result i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone
      (loop $v
        (br_if $vdone (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))
        (v128.store (local.get $o) (v128.const i32x4 0 0 0 0))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $v)))
    (block $done
      (loop $t
        (br_if $done (i32.ge_u (local.get $o) (local.get $e)))
        (f32.store (local.get $o) (f32.const 0))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $t)))
    (local.get $o))

  ;; Copies n floats from s (step `step` bytes apart) to o (contiguous);
  ;; returns o + 4n.
  (func $gather (param $o i32) (param $s i32) (param $n i32) (param $step i32) (result i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.eq (local.get $step) (i32.const 4))
      (then
        (block $vdone
          (loop $v
            (br_if $vdone (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))
            (v128.store (local.get $o) (v128.load (local.get $s)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (br $v)))))
    (block $done
      (loop $t
        (br_if $done (i32.ge_u (local.get $o) (local.get $e)))
        (f32.store (local.get $o) (f32.load (local.get $s)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (local.get $step)))
        (br $t)))
    (local.get $o))

  ;; ------------------------------------------------------------ col2im_add
  ;; Scatter-adds col[(b,oh,ow), (kh,kw,ci)] for nb images into the NHWC
  ;; image batch at dx (the adjoint of im2col). `col` and `dx` point at the
  ;; first image of the chunk. Dilation 1.
  (func (export "col2im_add")
    (param $col i32) (param $dx i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $kh i32)
    (local $iw0 i32) (local $kwMin i32) (local $kwMax i32) (local $run i32)
    (local $ih i32) (local $img i32) (local $imgBytes i32) (local $kkBytes i32)
    (local $dcol i32) (local $scol i32) (local $rowBytes i32) (local $khColBytes i32)
    (local.set $imgBytes (i32.shl (i32.mul (i32.mul (local.get $inH) (local.get $inW)) (local.get $inC)) (i32.const 2)))
    (local.set $kkBytes (i32.shl (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $inC)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $inW) (local.get $inC)) (i32.const 2)))
    (local.set $khColBytes (i32.shl (i32.mul (local.get $fw) (local.get $inC)) (i32.const 2)))
    (local.set $img (local.get $dx))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $ow (i32.const 0))
        (block $owDone (loop $owLoop
          (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
          (local.set $iw0 (i32.sub (i32.mul (local.get $ow) (local.get $sw)) (local.get $pl)))
          (local.set $kwMin (select (i32.sub (i32.const 0) (local.get $iw0)) (i32.const 0)
            (i32.lt_s (local.get $iw0) (i32.const 0))))
          (local.set $kwMax (i32.sub (local.get $inW) (local.get $iw0)))
          (if (i32.gt_s (local.get $kwMax) (local.get $fw)) (then (local.set $kwMax (local.get $fw))))
          (if (i32.gt_s (local.get $kwMax) (local.get $kwMin)) (then
            (local.set $run (i32.mul (i32.sub (local.get $kwMax) (local.get $kwMin)) (local.get $inC)))
            ;; column offset of (kh=0, kwMin); image offset of (ih=?, iw0+kwMin)
            (local.set $scol (i32.add (local.get $col)
              (i32.shl (i32.mul (local.get $kwMin) (local.get $inC)) (i32.const 2))))
            (local.set $kh (i32.const 0))
            (block $khDone (loop $khLoop
              (br_if $khDone (i32.ge_s (local.get $kh) (local.get $fh)))
              (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $kh)) (local.get $pt)))
              (if (i32.and (i32.ge_s (local.get $ih) (i32.const 0)) (i32.lt_s (local.get $ih) (local.get $inH))) (then
                (local.set $dcol (i32.add (i32.add (local.get $img) (i32.mul (local.get $ih) (local.get $rowBytes)))
                  (i32.shl (i32.mul (i32.add (local.get $iw0) (local.get $kwMin)) (local.get $inC)) (i32.const 2))))
                (call $addRun (local.get $dcol) (local.get $scol) (local.get $run))))
              (local.set $scol (i32.add (local.get $scol) (local.get $khColBytes)))
              (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
              (br $khLoop)))))
          (local.set $col (i32.add (local.get $col) (local.get $kkBytes)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $img (i32.add (local.get $img) (local.get $imgBytes)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; ------------------------------------------------------------- im2col_t
  ;; Writes colT[(kh,kw,ci), (b,oh,ow)] for nb images of the NHWC batch at x
  ;; (x points at the chunk's first image). Padded taps are zero.
  (func (export "im2col_t")
    (param $x i32) (param $col i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32)
    (local $kh i32) (local $kw i32) (local $ci i32) (local $b i32) (local $oh i32)
    (local $ihBase i32) (local $iwBase i32) (local $owMin i32) (local $owMax i32) (local $n i32)
    (local $ih i32) (local $xb i32) (local $imgBytes i32) (local $step i32) (local $o i32) (local $t i32)
    (local $rowBytes i32) (local $tail i32)
    (local.set $imgBytes (i32.shl (i32.mul (i32.mul (local.get $inH) (local.get $inW)) (local.get $inC)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $inW) (local.get $inC)) (i32.const 2)))
    (local.set $step (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $o (local.get $col))
    (block $khDone (loop $khLoop
      (br_if $khDone (i32.ge_s (local.get $kh) (local.get $fh)))
      (local.set $ihBase (i32.sub (i32.mul (local.get $kh) (local.get $dh)) (local.get $pt)))
      (local.set $kw (i32.const 0))
      (block $kwDone (loop $kwLoop
        (br_if $kwDone (i32.ge_s (local.get $kw) (local.get $fw)))
        (local.set $iwBase (i32.sub (i32.mul (local.get $kw) (local.get $dw)) (local.get $pl)))
        ;; owMin = clamp(ceil(-iwBase / sw), 0, outW)
        (local.set $owMin (i32.const 0))
        (if (i32.lt_s (local.get $iwBase) (i32.const 0)) (then
          (local.set $owMin (i32.div_u (i32.sub (i32.sub (local.get $sw) (i32.const 1)) (local.get $iwBase)) (local.get $sw)))))
        (if (i32.gt_s (local.get $owMin) (local.get $outW)) (then (local.set $owMin (local.get $outW))))
        ;; owMax = clamp(floor((inW - 1 - iwBase) / sw) + 1, owMin, outW)
        (local.set $t (i32.sub (i32.sub (local.get $inW) (i32.const 1)) (local.get $iwBase)))
        (local.set $owMax (i32.const 0))
        (if (i32.ge_s (local.get $t) (i32.const 0)) (then
          (local.set $owMax (i32.add (i32.div_u (local.get $t) (local.get $sw)) (i32.const 1)))))
        (if (i32.gt_s (local.get $owMax) (local.get $outW)) (then (local.set $owMax (local.get $outW))))
        (if (i32.lt_s (local.get $owMax) (local.get $owMin)) (then (local.set $owMax (local.get $owMin))))
        (local.set $n (i32.sub (local.get $owMax) (local.get $owMin)))
        (local.set $tail (i32.sub (local.get $outW) (local.get $owMax)))
        (local.set $ci (i32.const 0))
        (block $ciDone (loop $ciLoop
          (br_if $ciDone (i32.ge_s (local.get $ci) (local.get $inC)))
          (local.set $b (i32.const 0))
          (block $bDone (loop $bLoop
            (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
            ;; xb: address of (b, ih=0, iw = owMin*sw + iwBase, ci)
            (local.set $xb (i32.add (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $imgBytes)))
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $owMin) (local.get $sw)) (local.get $iwBase))
                (local.get $inC)) (local.get $ci)) (i32.const 2))))
            (local.set $oh (i32.const 0))
            (block $ohDone (loop $ohLoop
              (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
              (local.set $ih (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $ihBase)))
              (if (i32.or (i32.lt_s (local.get $ih) (i32.const 0)) (i32.ge_s (local.get $ih) (local.get $inH)))
                (then (local.set $o (call $zero (local.get $o) (local.get $outW))))
                (else
                  (local.set $o (call $zero (local.get $o) (local.get $owMin)))
                  (local.set $o (call $gather (local.get $o)
                    (i32.add (local.get $xb) (i32.mul (local.get $ih) (local.get $rowBytes)))
                    (local.get $n) (local.get $step)))
                  (local.set $o (call $zero (local.get $o) (local.get $tail)))))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohLoop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bLoop)))
          (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
          (br $ciLoop)))
        (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
        (br $kwLoop)))
      (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
      (br $khLoop))))

  ;; ---------------------------------------------------- max_pool_grad_2x2
  ;; 2x2 stride-2 unpadded windows: each window's four dx entries get dy at
  ;; the first maximum and 0 elsewhere (NaN and -Inf never win, as on cpu).
  ;; Writes only covered dx entries; the caller zeroes uncovered edges.
  (func (export "max_pool_grad_2x2")
    (param $x i32) (param $dy i32) (param $dx i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $ch i32) (local $p i32) (local $q i32)
    (local $rs i32) (local $c4 i32) (local $cv i32) (local $row i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local $best v128) (local $g v128) (local $rem v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $sb f32) (local $sg f32) (local $k i32)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rs (i32.mul (local.get $inW) (local.get $c4)))
    (local.set $cv (i32.and (local.get $c) (i32.const -4)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $row (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH))
          (i32.shl (local.get $oh) (i32.const 1))) (local.get $rs)))
        (local.set $ow (i32.const 0))
        (block $owDone (loop $owLoop
          (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
          (local.set $p (i32.add (local.get $row) (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $c4))))
          (local.set $ch (i32.const 0))
          (block $vDone (loop $vLoop
            (br_if $vDone (i32.ge_s (local.get $ch) (local.get $cv)))
            (local.set $q (i32.add (local.get $p) (i32.shl (local.get $ch) (i32.const 2))))
            (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $q))))
            (local.set $v1 (v128.load (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $c4))))
            (local.set $v2 (v128.load (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $rs))))
            (local.set $v3 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $rs)) (local.get $c4))))
            (local.set $g0 (f32x4.gt (local.get $v0) (v128.const f32x4 -inf -inf -inf -inf)))
            (local.set $best (v128.bitselect (local.get $v0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $g0)))
            (local.set $g1 (f32x4.gt (local.get $v1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v1) (local.get $best) (local.get $g1)))
            (local.set $g2 (f32x4.gt (local.get $v2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $v2) (local.get $best) (local.get $g2)))
            (local.set $g3 (f32x4.gt (local.get $v3) (local.get $best)))
            (local.set $g (v128.load (local.get $dy)))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $rs)) (local.get $c4))
              (v128.and (local.get $g) (local.get $g3)))
            (local.set $rem (v128.andnot (local.get $g) (local.get $g3)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $rs))
              (v128.and (local.get $rem) (local.get $g2)))
            (local.set $rem (v128.andnot (local.get $rem) (local.get $g2)))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $c4))
              (v128.and (local.get $rem) (local.get $g1)))
            (local.set $rem (v128.andnot (local.get $rem) (local.get $g1)))
            (v128.store (i32.add (local.get $dx) (local.get $q))
              (v128.and (local.get $rem) (local.get $g0)))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $vLoop)))
          (block $sDone (loop $sLoop
            (br_if $sDone (i32.ge_s (local.get $ch) (local.get $c)))
            (local.set $q (i32.add (local.get $p) (i32.shl (local.get $ch) (i32.const 2))))
            (local.set $s0 (f32.load (i32.add (local.get $x) (local.get $q))))
            (local.set $s1 (f32.load (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $c4))))
            (local.set $s2 (f32.load (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $rs))))
            (local.set $s3 (f32.load (i32.add (i32.add (i32.add (local.get $x) (local.get $q)) (local.get $rs)) (local.get $c4))))
            (local.set $sb (f32.const -inf))
            (local.set $k (i32.const -1))
            (if (f32.gt (local.get $s0) (local.get $sb)) (then (local.set $sb (local.get $s0)) (local.set $k (i32.const 0))))
            (if (f32.gt (local.get $s1) (local.get $sb)) (then (local.set $sb (local.get $s1)) (local.set $k (i32.const 1))))
            (if (f32.gt (local.get $s2) (local.get $sb)) (then (local.set $sb (local.get $s2)) (local.set $k (i32.const 2))))
            (if (f32.gt (local.get $s3) (local.get $sb)) (then (local.set $k (i32.const 3))))
            (local.set $sg (f32.load (local.get $dy)))
            (f32.store (i32.add (local.get $dx) (local.get $q))
              (select (local.get $sg) (f32.const 0) (i32.eq (local.get $k) (i32.const 0))))
            (f32.store (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $c4))
              (select (local.get $sg) (f32.const 0) (i32.eq (local.get $k) (i32.const 1))))
            (f32.store (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $rs))
              (select (local.get $sg) (f32.const 0) (i32.eq (local.get $k) (i32.const 2))))
            (f32.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $q)) (local.get $rs)) (local.get $c4))
              (select (local.get $sg) (f32.const 0) (i32.eq (local.get $k) (i32.const 3))))
            (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $sLoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; -------------------------------------------------------- max_pool_grad
  ;; Any window/stride/padding/dilation: zeroes dx, then scatter-adds dy to
  ;; the first maximum of each window, four channels at a time. fh/fw are
  ;; the effective (dilated) filter sizes, taps step by dh/dw.
  (func (export "max_pool_grad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (param $sh i32) (param $sw i32) (param $fh i32) (param $fw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $ch i32) (local $kh i32) (local $kw i32)
    (local $h0 i32) (local $w0 i32) (local $ih i32) (local $iw i32) (local $q i32) (local $img i32)
    (local $cv i32) (local $w i32) (local $found i32)
    (local $v v128) (local $m v128) (local $best v128) (local $where v128) (local $g v128)
    (local $s f32) (local $sb f32)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (i32.mul (local.get $nb) (local.get $inH)) (local.get $inW)) (local.get $c)) (i32.const 2)))
    (local.set $cv (i32.and (local.get $c) (i32.const -4)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $img (i32.mul (i32.mul (local.get $b) (local.get $inH)) (local.get $inW)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $h0 (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $pt)))
        (local.set $ow (i32.const 0))
        (block $owDone (loop $owLoop
          (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
          (local.set $w0 (i32.sub (i32.mul (local.get $ow) (local.get $sw)) (local.get $pl)))
          (local.set $ch (i32.const 0))
          ;; four channels at a time
          (block $vDone (loop $vLoop
            (br_if $vDone (i32.ge_s (local.get $ch) (local.get $cv)))
            (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $where (v128.const i32x4 -1 -1 -1 -1))
            (local.set $kh (i32.const 0))
            (block $khDone (loop $khLoop
              (br_if $khDone (i32.ge_s (local.get $kh) (local.get $fh)))
              (local.set $ih (i32.add (local.get $h0) (local.get $kh)))
              (if (i32.and (i32.ge_s (local.get $ih) (i32.const 0)) (i32.lt_s (local.get $ih) (local.get $inH))) (then
                (local.set $kw (i32.const 0))
                (block $kwDone (loop $kwLoop
                  (br_if $kwDone (i32.ge_s (local.get $kw) (local.get $fw)))
                  (local.set $iw (i32.add (local.get $w0) (local.get $kw)))
                  (if (i32.and (i32.ge_s (local.get $iw) (i32.const 0)) (i32.lt_s (local.get $iw) (local.get $inW))) (then
                    (local.set $q (i32.shl (i32.add (i32.mul (i32.add (i32.add (local.get $img)
                      (i32.mul (local.get $ih) (local.get $inW))) (local.get $iw)) (local.get $c)) (local.get $ch)) (i32.const 2)))
                    (local.set $v (v128.load (i32.add (local.get $x) (local.get $q))))
                    (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                    (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                    (local.set $where (v128.bitselect
                      (i32x4.add (i32x4.splat (local.get $q)) (v128.const i32x4 0 4 8 12))
                      (local.get $where) (local.get $m)))))
                  (local.set $kw (i32.add (local.get $kw) (local.get $dw)))
                  (br $kwLoop)))))
              (local.set $kh (i32.add (local.get $kh) (local.get $dh)))
              (br $khLoop)))
            (local.set $g (v128.load (local.get $dy)))
            (local.set $w (i32x4.extract_lane 0 (local.get $where)))
            (if (i32.ge_s (local.get $w) (i32.const 0)) (then
              (f32.store (i32.add (local.get $dx) (local.get $w)) (f32.add (f32.load (i32.add (local.get $dx) (local.get $w)))
                (f32x4.extract_lane 0 (local.get $g))))))
            (local.set $w (i32x4.extract_lane 1 (local.get $where)))
            (if (i32.ge_s (local.get $w) (i32.const 0)) (then
              (f32.store (i32.add (local.get $dx) (local.get $w)) (f32.add (f32.load (i32.add (local.get $dx) (local.get $w)))
                (f32x4.extract_lane 1 (local.get $g))))))
            (local.set $w (i32x4.extract_lane 2 (local.get $where)))
            (if (i32.ge_s (local.get $w) (i32.const 0)) (then
              (f32.store (i32.add (local.get $dx) (local.get $w)) (f32.add (f32.load (i32.add (local.get $dx) (local.get $w)))
                (f32x4.extract_lane 2 (local.get $g))))))
            (local.set $w (i32x4.extract_lane 3 (local.get $where)))
            (if (i32.ge_s (local.get $w) (i32.const 0)) (then
              (f32.store (i32.add (local.get $dx) (local.get $w)) (f32.add (f32.load (i32.add (local.get $dx) (local.get $w)))
                (f32x4.extract_lane 3 (local.get $g))))))
            (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $vLoop)))
          ;; remaining channels one at a time
          (block $sDone (loop $sLoop
            (br_if $sDone (i32.ge_s (local.get $ch) (local.get $c)))
            (local.set $sb (f32.const -inf))
            (local.set $w (i32.const -1))
            (local.set $kh (i32.const 0))
            (block $khDone2 (loop $khLoop2
              (br_if $khDone2 (i32.ge_s (local.get $kh) (local.get $fh)))
              (local.set $ih (i32.add (local.get $h0) (local.get $kh)))
              (if (i32.and (i32.ge_s (local.get $ih) (i32.const 0)) (i32.lt_s (local.get $ih) (local.get $inH))) (then
                (local.set $kw (i32.const 0))
                (block $kwDone2 (loop $kwLoop2
                  (br_if $kwDone2 (i32.ge_s (local.get $kw) (local.get $fw)))
                  (local.set $iw (i32.add (local.get $w0) (local.get $kw)))
                  (if (i32.and (i32.ge_s (local.get $iw) (i32.const 0)) (i32.lt_s (local.get $iw) (local.get $inW))) (then
                    (local.set $q (i32.shl (i32.add (i32.mul (i32.add (i32.add (local.get $img)
                      (i32.mul (local.get $ih) (local.get $inW))) (local.get $iw)) (local.get $c)) (local.get $ch)) (i32.const 2)))
                    (local.set $s (f32.load (i32.add (local.get $x) (local.get $q))))
                    (if (f32.gt (local.get $s) (local.get $sb)) (then
                      (local.set $sb (local.get $s))
                      (local.set $w (local.get $q))))))
                  (local.set $kw (i32.add (local.get $kw) (local.get $dw)))
                  (br $kwLoop2)))))
              (local.set $kh (i32.add (local.get $kh) (local.get $dh)))
              (br $khLoop2)))
            (if (i32.ge_s (local.get $w) (i32.const 0)) (then
              (f32.store (i32.add (local.get $dx) (local.get $w)) (f32.add (f32.load (i32.add (local.get $dx) (local.get $w)))
                (f32.load (local.get $dy))))))
            (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $sLoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; ------------------------------------------------------------- sum_rows
  ;; out[j] = sum_r x[r, j] for x[rows, cols]. Rows are summed in blocks of
  ;; 256 into partial sums that are then added to the total (keeps f32
  ;; rounding error well below naive sequential summation). `tmp` is a
  ;; scratch buffer of `cols` floats, used only when cols is not 4, 8, 12, 16.
  (func (export "sum_rows")
    (param $x i32) (param $out i32) (param $tmp i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $end i32) (local $rowBytes i32) (local $nv i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (if (i32.and (i32.eqz (i32.and (local.get $cols) (i32.const 3)))
                 (i32.and (i32.gt_s (local.get $cols) (i32.const 0)) (i32.le_s (local.get $cols) (i32.const 16))))
      (then
        (local.set $nv (i32.shr_u (local.get $cols) (i32.const 2)))
        (block $done (loop $chunk
          (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
          (local.set $end (i32.add (local.get $r) (i32.const 256)))
          (if (i32.gt_s (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
          (local.set $t0 (v128.const i32x4 0 0 0 0))
          (local.set $t1 (v128.const i32x4 0 0 0 0))
          (local.set $t2 (v128.const i32x4 0 0 0 0))
          (local.set $t3 (v128.const i32x4 0 0 0 0))
          (block $rDone (loop $rLoop
            (br_if $rDone (i32.ge_s (local.get $r) (local.get $end)))
            (local.set $t0 (f32x4.add (local.get $t0) (v128.load (local.get $x))))
            (if (i32.gt_u (local.get $nv) (i32.const 1)) (then
              (local.set $t1 (f32x4.add (local.get $t1) (v128.load offset=16 (local.get $x))))
              (if (i32.gt_u (local.get $nv) (i32.const 2)) (then
                (local.set $t2 (f32x4.add (local.get $t2) (v128.load offset=32 (local.get $x))))
                (if (i32.gt_u (local.get $nv) (i32.const 3)) (then
                  (local.set $t3 (f32x4.add (local.get $t3) (v128.load offset=48 (local.get $x))))))))))
            (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rLoop)))
          (local.set $a0 (f32x4.add (local.get $a0) (local.get $t0)))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $t1)))
          (local.set $a2 (f32x4.add (local.get $a2) (local.get $t2)))
          (local.set $a3 (f32x4.add (local.get $a3) (local.get $t3)))
          (br $chunk)))
        (v128.store (local.get $out) (local.get $a0))
        (if (i32.gt_u (local.get $nv) (i32.const 1)) (then (v128.store offset=16 (local.get $out) (local.get $a1))))
        (if (i32.gt_u (local.get $nv) (i32.const 2)) (then (v128.store offset=32 (local.get $out) (local.get $a2))))
        (if (i32.gt_u (local.get $nv) (i32.const 3)) (then (v128.store offset=48 (local.get $out) (local.get $a3))))
        (return)))
    ;; general width: partial sums in tmp
    (memory.fill (local.get $out) (i32.const 0) (local.get $rowBytes))
    (block $done2 (loop $chunk2
      (br_if $done2 (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $end (i32.add (local.get $r) (i32.const 256)))
      (if (i32.gt_s (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
      (memory.fill (local.get $tmp) (i32.const 0) (local.get $rowBytes))
      (block $rDone2 (loop $rLoop2
        (br_if $rDone2 (i32.ge_s (local.get $r) (local.get $end)))
        (call $addRun (local.get $tmp) (local.get $x) (local.get $cols))
        (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rLoop2)))
      (call $addRun (local.get $out) (local.get $tmp) (local.get $cols))
      (br $chunk2))))

  ;; ------------------------------------------------------------- add_rows
  ;; out[r, j] = x[r, j] + v[j] for x[rows, cols] (bias add). out may be x.
  (func (export "add_rows")
    (param $x i32) (param $v i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $nv i32) (local $cv i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (if (i32.and (i32.eqz (i32.and (local.get $cols) (i32.const 3)))
                 (i32.and (i32.gt_s (local.get $cols) (i32.const 0)) (i32.le_s (local.get $cols) (i32.const 16))))
      (then
        (local.set $nv (i32.shr_u (local.get $cols) (i32.const 2)))
        (local.set $b0 (v128.load (local.get $v)))
        (if (i32.gt_u (local.get $nv) (i32.const 1)) (then (local.set $b1 (v128.load offset=16 (local.get $v)))))
        (if (i32.gt_u (local.get $nv) (i32.const 2)) (then (local.set $b2 (v128.load offset=32 (local.get $v)))))
        (if (i32.gt_u (local.get $nv) (i32.const 3)) (then (local.set $b3 (v128.load offset=48 (local.get $v)))))
        (block $done (loop $rLoop
          (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
          (v128.store (local.get $out) (f32x4.add (v128.load (local.get $x)) (local.get $b0)))
          (if (i32.gt_u (local.get $nv) (i32.const 1)) (then
            (v128.store offset=16 (local.get $out) (f32x4.add (v128.load offset=16 (local.get $x)) (local.get $b1)))
            (if (i32.gt_u (local.get $nv) (i32.const 2)) (then
              (v128.store offset=32 (local.get $out) (f32x4.add (v128.load offset=32 (local.get $x)) (local.get $b2)))
              (if (i32.gt_u (local.get $nv) (i32.const 3)) (then
                (v128.store offset=48 (local.get $out) (f32x4.add (v128.load offset=48 (local.get $x)) (local.get $b3)))))))))
          (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
          (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $rLoop)))
        (return)))
    (local.set $cv (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    (block $done2 (loop $rLoop2
      (br_if $done2 (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $vDone (loop $vLoop
        (br_if $vDone (i32.ge_s (local.get $j) (local.get $cv)))
        (v128.store (i32.add (local.get $out) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $x) (local.get $j))) (v128.load (i32.add (local.get $v) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $vLoop)))
      (block $sDone (loop $sLoop
        (br_if $sDone (i32.ge_s (local.get $j) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $out) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $x) (local.get $j))) (f32.load (i32.add (local.get $v) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sLoop)))
      (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rLoop2))))

  ;; ------------------------------------------------------------- conv_bpf
  ;; Direct Conv2DBackpropFilter for an unpadded NHWC convolution (dilation 1):
  ;;   dw[kh, kw, ci, co] = sum_(b,oh,ow) x[b, oh*sh+kh, ow*sw+kw, ci] * dy[b, oh, ow, co].
  ;; For fixed (b, kh, oh, ow) the x taps (kw, ci) are one contiguous run of
  ;; fw*inC floats, and so are dw's rows for that kh: tap j of row kh is row
  ;; kh*fw*inC + j of dw[taps, outC]. Main block: 4 taps x 8 output channels
  ;; in 8 v128 accumulators (x broadcast with immediate offsets, dy loaded as
  ;; v128); the taps past the last multiple of 4 go 1 tap x 8 channels;
  ;; channels past the last multiple of 8 go 4, then 1 at a time. Sums are
  ;; formed per image and then added to dw (zeroed here), which keeps the f32
  ;; error small. Register blocking measured on this machine (bench/filter-ab.mjs,
  ;; CNN at batch 128): 4x8 runs ~25 GMAC/s; 5x8 (13 live v128) and 8x4 taps
  ;; ran 9-11 (V8 spills), generic per-tap offsets in registers ~17.
  (func (export "conv_bpf")
    (param $x i32) (param $dy i32) (param $dw i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $outC i32)
    (local $b i32) (local $kh i32) (local $cb i32) (local $j i32) (local $oh i32)
    (local $taps i32) (local $cW i32) (local $jW i32) (local $c4 i32) (local $q i32)
    (local $xKh i32) (local $dyImg i32) (local $dwKh i32) (local $xr i32) (local $xp i32) (local $xe i32) (local $dp i32)
    (local $xStep i32) (local $xRow i32) (local $dyPix i32) (local $imgX i32) (local $imgDy i32) (local $rowSpan i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $d0 v128) (local $d1 v128) (local $s v128)
    (local.set $taps (i32.mul (local.get $fw) (local.get $inC)))
    (local.set $cW (i32.and (local.get $outC) (i32.const -8)))
    (local.set $c4 (i32.and (local.get $outC) (i32.const -4)))
    (local.set $jW (i32.and (local.get $taps) (i32.const -4)))
    (local.set $dyPix (i32.shl (local.get $outC) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $xRow (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $inW)) (local.get $inC)) (i32.const 2)))
    (local.set $rowSpan (i32.mul (local.get $outW) (local.get $xStep)))
    (local.set $imgX (i32.shl (i32.mul (i32.mul (local.get $inH) (local.get $inW)) (local.get $inC)) (i32.const 2)))
    (local.set $imgDy (i32.mul (i32.mul (local.get $outH) (local.get $outW)) (local.get $dyPix)))
    (memory.fill (local.get $dw) (i32.const 0)
      (i32.mul (i32.mul (local.get $fh) (local.get $taps)) (local.get $dyPix)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $dyImg (i32.add (local.get $dy) (i32.mul (local.get $b) (local.get $imgDy))))
      (local.set $kh (i32.const 0))
      (block $khDone (loop $khLoop
        (br_if $khDone (i32.ge_s (local.get $kh) (local.get $fh)))
        (local.set $xKh (i32.add (i32.add (local.get $x) (i32.mul (local.get $b) (local.get $imgX)))
          (i32.shl (i32.mul (i32.mul (local.get $kh) (local.get $inW)) (local.get $inC)) (i32.const 2))))
        (local.set $dwKh (i32.add (local.get $dw) (i32.mul (i32.mul (local.get $kh) (local.get $taps)) (local.get $dyPix))))
        (local.set $cb (i32.const 0))
        (block $cDone (loop $cLoop
          (br_if $cDone (i32.ge_s (local.get $cb) (local.get $cW)))
          ;; 4 taps x 8 channels
          (local.set $j (i32.const 0))
          (block $jDone (loop $jLoop
            (br_if $jDone (i32.ge_s (local.get $j) (local.get $jW)))
            (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0))
            (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))
            (local.set $xr (i32.add (local.get $xKh) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $dp (i32.add (local.get $dyImg) (i32.shl (local.get $cb) (i32.const 2))))
            (local.set $oh (i32.const 0))
            (block $ohADone (loop $ohALoop
              (br_if $ohADone (i32.ge_s (local.get $oh) (local.get $outH)))
              (local.set $xp (local.get $xr))
              (local.set $xe (i32.add (local.get $xr) (local.get $rowSpan)))
              (loop $owALoop ;; bottom-tested: outW >= 1 (the caller returns early on empty outputs)
                (local.set $d0 (v128.load (local.get $dp)))
                (local.set $d1 (v128.load offset=16 (local.get $dp)))
                (local.set $s (v128.load32_splat (local.get $xp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=4 (local.get $xp)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=8 (local.get $xp)))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $s (v128.load32_splat offset=12 (local.get $xp)))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                (local.set $dp (i32.add (local.get $dp) (local.get $dyPix)))
                (br_if $owALoop (i32.lt_u (local.get $xp) (local.get $xe))))
              (local.set $xr (i32.add (local.get $xr) (local.get $xRow)))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohALoop)))
            (local.set $q (i32.add (local.get $dwKh)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $outC)) (local.get $cb)) (i32.const 2))))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a0)))
            (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a1)))
            (local.set $q (i32.add (local.get $q) (local.get $dyPix)))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a2)))
            (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a3)))
            (local.set $q (i32.add (local.get $q) (local.get $dyPix)))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a4)))
            (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a5)))
            (local.set $q (i32.add (local.get $q) (local.get $dyPix)))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a6)))
            (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a7)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $jLoop)))
          ;; remaining taps: 1 tap x 8 channels
          (block $j1Done (loop $j1Loop
            (br_if $j1Done (i32.ge_s (local.get $j) (local.get $taps)))
            (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $xr (i32.add (local.get $xKh) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $dp (i32.add (local.get $dyImg) (i32.shl (local.get $cb) (i32.const 2))))
            (local.set $oh (i32.const 0))
            (block $ohBDone (loop $ohBLoop
              (br_if $ohBDone (i32.ge_s (local.get $oh) (local.get $outH)))
              (local.set $xp (local.get $xr))
              (local.set $xe (i32.add (local.get $xr) (local.get $rowSpan)))
              (loop $owBLoop ;; bottom-tested: outW >= 1 (the caller returns early on empty outputs)
                (local.set $d0 (v128.load (local.get $dp)))
                (local.set $d1 (v128.load offset=16 (local.get $dp)))
                (local.set $s (v128.load32_splat (local.get $xp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                (local.set $dp (i32.add (local.get $dp) (local.get $dyPix)))
                (br_if $owBLoop (i32.lt_u (local.get $xp) (local.get $xe))))
              (local.set $xr (i32.add (local.get $xr) (local.get $xRow)))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohBLoop)))
            (local.set $q (i32.add (local.get $dwKh)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $outC)) (local.get $cb)) (i32.const 2))))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a0)))
            (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $j1Loop)))
          (local.set $cb (i32.add (local.get $cb) (i32.const 8)))
          (br $cLoop)))
        ;; channels past the last multiple of 8: 4 at a time, then one at a time
        (local.set $j (i32.const 0))
        (block $tDone (loop $tLoop
          (br_if $tDone (i32.ge_s (local.get $j) (local.get $taps)))
          (local.set $xr (i32.add (local.get $xKh) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $cb (local.get $cW))
          (block $vDone (loop $vLoop
            (br_if $vDone (i32.ge_s (local.get $cb) (local.get $c4)))
            (local.set $q (i32.add (local.get $dwKh)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $outC)) (local.get $cb)) (i32.const 2))))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q))
              (call $tap4 (local.get $xr) (i32.add (local.get $dyImg) (i32.shl (local.get $cb) (i32.const 2)))
                (local.get $outH) (local.get $outW) (local.get $xStep) (local.get $xRow) (local.get $dyPix))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
            (br $vLoop)))
          (block $sDone (loop $sLoop
            (br_if $sDone (i32.ge_s (local.get $cb) (local.get $outC)))
            (local.set $q (i32.add (local.get $dwKh)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $outC)) (local.get $cb)) (i32.const 2))))
            (f32.store (local.get $q) (f32.add (f32.load (local.get $q))
              (call $tap1 (local.get $xr) (i32.add (local.get $dyImg) (i32.shl (local.get $cb) (i32.const 2)))
                (local.get $outH) (local.get $outW) (local.get $xStep) (local.get $xRow) (local.get $dyPix))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 1)))
            (br $sLoop)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $tLoop)))
        (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
        (br $khLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; sum over one image's pixels of splat(x[tap]) * dy[4 channels] (conv_bpf).
  (func $tap4 (param $xr i32) (param $dp i32) (param $outH i32) (param $outW i32)
    (param $xStep i32) (param $xRow i32) (param $dyPix i32) (result v128)
    (local $oh i32) (local $ow i32) (local $xp i32) (local $a v128)
    (block $ohDone (loop $ohLoop
      (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
      (local.set $xp (local.get $xr))
      (local.set $ow (i32.const 0))
      (block $owDone (loop $owLoop
        (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
        (local.set $a (f32x4.add (local.get $a)
          (f32x4.mul (v128.load32_splat (local.get $xp)) (v128.load (local.get $dp)))))
        (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
        (local.set $dp (i32.add (local.get $dp) (local.get $dyPix)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
        (br $owLoop)))
      (local.set $xr (i32.add (local.get $xr) (local.get $xRow)))
      (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
      (br $ohLoop)))
    (local.get $a))

  ;; scalar version of $tap4 for one channel.
  (func $tap1 (param $xr i32) (param $dp i32) (param $outH i32) (param $outW i32)
    (param $xStep i32) (param $xRow i32) (param $dyPix i32) (result f32)
    (local $oh i32) (local $ow i32) (local $xp i32) (local $a f32)
    (block $ohDone (loop $ohLoop
      (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
      (local.set $xp (local.get $xr))
      (local.set $ow (i32.const 0))
      (block $owDone (loop $owLoop
        (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
        (local.set $a (f32.add (local.get $a) (f32.mul (f32.load (local.get $xp)) (f32.load (local.get $dp)))))
        (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
        (local.set $dp (i32.add (local.get $dp) (local.get $dyPix)))
        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
        (br $owLoop)))
      (local.set $xr (i32.add (local.get $xr) (local.get $xRow)))
      (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
      (br $ohLoop)))
    (local.get $a))

  ;; ------------------------------------------------------------- conv_fwd
  ;; Direct forward conv for an unpadded NHWC convolution (dilation 1) with
  ;; outC a multiple of 8:
  ;;   y[b,oh,ow,co] = sum_(kh,kw,ci) x[b, oh*sh+kh, ow*sw+kw, ci] * w[kh,kw,ci,co].
  ;; Main block: 4 output pixels x 8 channels in 8 v128 accumulators (x
  ;; broadcast, w rows loaded as v128); leftover pixels go one at a time.
  ;; The taps (kw, ci) of one filter row are a contiguous run of fw*inC.
  (func (export "conv_fwd")
    (param $x i32) (param $w i32) (param $y i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $outC i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $cb i32) (local $kh i32) (local $q i32)
    (local $xr i32) (local $xk i32) (local $xp i32) (local $xe i32) (local $wp i32) (local $yp i32)
    (local $tapBytes i32) (local $rowBytes i32) (local $xStep i32) (local $yPix i32) (local $pix4 i32)
    (local $unit i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $w0 v128) (local $w1 v128) (local $s v128)
    (local.set $tapBytes (i32.shl (i32.mul (local.get $fw) (local.get $inC)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $inW) (local.get $inC)) (i32.const 2)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $unit (i32.eq (local.get $xStep) (i32.const 4)))
    (local.set $o1 (local.get $xStep))
    (local.set $o2 (i32.shl (local.get $xStep) (i32.const 1)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $xStep)))
    (local.set $yPix (i32.shl (local.get $outC) (i32.const 2)))
    (local.set $pix4 (i32.and (local.get $outW) (i32.const -4)))
    (local.set $yp (local.get $y))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $xr (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH))
          (i32.mul (local.get $oh) (local.get $sh))) (local.get $rowBytes))))
        (local.set $ow (i32.const 0))
        (block $p4Done (loop $p4Loop
          (br_if $p4Done (i32.ge_s (local.get $ow) (local.get $pix4)))
        (local.set $cb (i32.const 0))
        (block $cADone (loop $cALoop
          (br_if $cADone (i32.ge_s (local.get $cb) (local.get $outC)))
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $a4 (v128.const i32x4 0 0 0 0))
          (local.set $a5 (v128.const i32x4 0 0 0 0))
          (local.set $a6 (v128.const i32x4 0 0 0 0))
          (local.set $a7 (v128.const i32x4 0 0 0 0))
          (local.set $xk (i32.add (local.get $xr) (i32.mul (local.get $ow) (local.get $xStep))))
          (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $cb) (i32.const 2))))
          (local.set $kh (i32.const 0))
          (block $khADone (loop $khALoop
            (br_if $khADone (i32.ge_s (local.get $kh) (local.get $fh)))
            (local.set $xp (local.get $xk))
            (local.set $xe (i32.add (local.get $xk) (local.get $tapBytes)))
            ;; bottom-tested tap loops (tapBytes > 0: the caller needs inC, fw >= 1);
            ;; unit pixel steps get immediate splat offsets (measured ~5% faster)
            (if (local.get $unit)
              (then (loop $jULoop
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $w1 (v128.load offset=16 (local.get $wp)))
                (local.set $s (v128.load32_splat (local.get $xp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat offset=4 (local.get $xp)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat offset=8 (local.get $xp)))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat offset=12 (local.get $xp)))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
                (local.set $wp (i32.add (local.get $wp) (local.get $yPix)))
                (br_if $jULoop (i32.lt_u (local.get $xp) (local.get $xe)))))
              (else (loop $jRLoop
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $w1 (v128.load offset=16 (local.get $wp)))
                (local.set $s (v128.load32_splat (local.get $xp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $xp) (local.get $o1))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $xp) (local.get $o2))))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $xp) (local.get $o3))))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
                (local.set $wp (i32.add (local.get $wp) (local.get $yPix)))
                (br_if $jRLoop (i32.lt_u (local.get $xp) (local.get $xe))))))
            (local.set $xk (i32.add (local.get $xk) (local.get $rowBytes)))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br $khALoop)))
          (local.set $q (i32.add (local.get $yp) (i32.shl (i32.add (i32.mul (local.get $ow) (local.get $outC)) (local.get $cb)) (i32.const 2))))
          (v128.store (local.get $q) (local.get $a0))
          (v128.store offset=16 (local.get $q) (local.get $a1))
          (local.set $q (i32.add (local.get $q) (local.get $yPix)))
          (v128.store (local.get $q) (local.get $a2))
          (v128.store offset=16 (local.get $q) (local.get $a3))
          (local.set $q (i32.add (local.get $q) (local.get $yPix)))
          (v128.store (local.get $q) (local.get $a4))
          (v128.store offset=16 (local.get $q) (local.get $a5))
          (local.set $q (i32.add (local.get $q) (local.get $yPix)))
          (v128.store (local.get $q) (local.get $a6))
          (v128.store offset=16 (local.get $q) (local.get $a7))
          (local.set $cb (i32.add (local.get $cb) (i32.const 8)))
          (br $cALoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
          (br $p4Loop)))
        (block $p1Done (loop $p1Loop
          (br_if $p1Done (i32.ge_s (local.get $ow) (local.get $outW)))
        (local.set $cb (i32.const 0))
        (block $cBDone (loop $cBLoop
          (br_if $cBDone (i32.ge_s (local.get $cb) (local.get $outC)))
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $xk (i32.add (local.get $xr) (i32.mul (local.get $ow) (local.get $xStep))))
          (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $cb) (i32.const 2))))
          (local.set $kh (i32.const 0))
          (block $khBDone (loop $khBLoop
            (br_if $khBDone (i32.ge_s (local.get $kh) (local.get $fh)))
            (local.set $xp (local.get $xk))
            (local.set $xe (i32.add (local.get $xk) (local.get $tapBytes)))
            (block $jBDone (loop $jBLoop
              (br_if $jBDone (i32.ge_u (local.get $xp) (local.get $xe)))
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $w1 (v128.load offset=16 (local.get $wp)))
                (local.set $s (v128.load32_splat (local.get $xp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
              (local.set $xp (i32.add (local.get $xp) (i32.const 4)))
              (local.set $wp (i32.add (local.get $wp) (local.get $yPix)))
              (br $jBLoop)))
            (local.set $xk (i32.add (local.get $xk) (local.get $rowBytes)))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br $khBLoop)))
          (local.set $q (i32.add (local.get $yp) (i32.shl (i32.add (i32.mul (local.get $ow) (local.get $outC)) (local.get $cb)) (i32.const 2))))
          (v128.store (local.get $q) (local.get $a0))
          (v128.store offset=16 (local.get $q) (local.get $a1))
          (local.set $cb (i32.add (local.get $cb) (i32.const 8)))
          (br $cBLoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $p1Loop)))
        (local.set $yp (i32.add (local.get $yp) (i32.mul (local.get $outW) (local.get $yPix))))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; ------------------------------------------------------------- conv_bpi
  ;; Direct Conv2DBackpropInput for an unpadded NHWC convolution (dilation 1),
  ;; scatter form: every dy pixel (b, oh, ow) adds, for each filter row kh,
  ;;   dx[b, oh*sh+kh, ow*sw+kw, ci] += sum_co dy[b, oh, ow, co] * w[kh, kw, ci, co]
  ;; over a run of fw*inC floats that is contiguous in dx. wT is the filter
  ;; transposed to [outC][fh][fw][inC] (the caller builds it), so each co
  ;; contributes a contiguous row. Main block: 4 dy pixels x 8 run floats in 8
  ;; v128 accumulators (dy broadcast, wT loaded as v128), reduced over outC, then
  ;; added to dx (zeroed here); the run's tail and leftover pixels go through
  ;; $bpiPixel. No multiply touches padding (the im2col path multiplied
  ;; dy·Wᵀ into a [pixels, fh*fw*inC] buffer and scattered it back).
  (func (export "conv_bpi")
    (param $dy i32) (param $wT i32) (param $dx i32) (param $nb i32)
    (param $inH i32) (param $inW i32) (param $inC i32) (param $outH i32) (param $outW i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $outC i32)
    (local $b i32) (local $oh i32) (local $kh i32) (local $ow i32) (local $r i32) (local $q i32)
    (local $run i32) (local $run8 i32) (local $run4 i32) (local $kkBytes i32) (local $coSpan i32) (local $dyPix i32) (local $xStep i32)
    (local $dxRow i32) (local $dyRow i32) (local $wK i32) (local $dp i32) (local $wp i32) (local $we i32) (local $pix4 i32)
    (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $rowBytes i32) (local $sf f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $w0 v128) (local $w1 v128) (local $s v128)
    (local.set $run (i32.mul (local.get $fw) (local.get $inC)))
    (local.set $run8 (i32.and (local.get $run) (i32.const -8)))
    (local.set $run4 (i32.and (local.get $run) (i32.const -4)))
    (local.set $kkBytes (i32.shl (i32.mul (local.get $fh) (local.get $run)) (i32.const 2)))
    (local.set $coSpan (i32.mul (local.get $outC) (local.get $kkBytes)))
    (local.set $dyPix (i32.shl (local.get $outC) (i32.const 2)))
    (local.set $o1 (local.get $dyPix))
    (local.set $o2 (i32.shl (local.get $dyPix) (i32.const 1)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $dyPix)))
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $inC)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $inW) (local.get $inC)) (i32.const 2)))
    (local.set $pix4 (i32.and (local.get $outW) (i32.const -4)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (i32.mul (local.get $nb) (local.get $inH)) (local.get $rowBytes)))
    (local.set $dyRow (local.get $dy))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $kh (i32.const 0))
        (block $khDone (loop $khLoop
          (br_if $khDone (i32.ge_s (local.get $kh) (local.get $fh)))
          (local.set $dxRow (i32.add (local.get $dx) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH))
            (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $kh))) (local.get $rowBytes))))
          (local.set $wK (i32.add (local.get $wT) (i32.shl (i32.mul (local.get $kh) (local.get $run)) (i32.const 2))))
          (local.set $ow (i32.const 0))
          (block $pDone (loop $pLoop
            (br_if $pDone (i32.ge_s (local.get $ow) (local.get $pix4)))
            (local.set $r (i32.const 0))
            (block $rDone (loop $rLoop
              (br_if $rDone (i32.ge_s (local.get $r) (local.get $run8)))
              (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0)) (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0)) (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0)) (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))
              (local.set $dp (i32.add (local.get $dyRow) (i32.mul (local.get $ow) (local.get $dyPix))))
              (local.set $wp (i32.add (local.get $wK) (i32.shl (local.get $r) (i32.const 2))))
              (local.set $we (i32.add (local.get $wp) (local.get $coSpan)))
              (loop $coLoop
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $w1 (v128.load offset=16 (local.get $wp)))
                (local.set $s (v128.load32_splat (local.get $dp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $dp) (local.get $o1))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $dp) (local.get $o2))))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $s (v128.load32_splat (i32.add (local.get $dp) (local.get $o3))))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
                (local.set $wp (i32.add (local.get $wp) (local.get $kkBytes)))
                (br_if $coLoop (i32.lt_u (local.get $wp) (local.get $we))))
              (local.set $q (i32.add (i32.add (local.get $dxRow) (i32.mul (local.get $ow) (local.get $xStep))) (i32.shl (local.get $r) (i32.const 2))))
              (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a0)))
              (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a1)))
              (local.set $q (i32.add (local.get $q) (local.get $xStep)))
              (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a2)))
              (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a3)))
              (local.set $q (i32.add (local.get $q) (local.get $xStep)))
              (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a4)))
              (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a5)))
              (local.set $q (i32.add (local.get $q) (local.get $xStep)))
              (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (local.get $a6)))
              (v128.store offset=16 (local.get $q) (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $a7)))
              (local.set $r (i32.add (local.get $r) (i32.const 8)))
              (br $rLoop)))
            ;; the run's tail (past the last multiple of 8 floats) of these 4 pixels
            (if (i32.lt_s (local.get $run8) (local.get $run)) (then
              (local.set $q (i32.const 0))
              (block $tDone (loop $tLoop
                (br_if $tDone (i32.ge_s (local.get $q) (i32.const 4)))
                (call $bpiPixel (i32.add (local.get $dyRow) (i32.mul (i32.add (local.get $ow) (local.get $q)) (local.get $dyPix)))
                  (local.get $wK) (i32.add (local.get $dxRow) (i32.mul (i32.add (local.get $ow) (local.get $q)) (local.get $xStep)))
                  (local.get $run8) (local.get $run4) (local.get $run) (local.get $outC) (local.get $kkBytes))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $tLoop)))))
            (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
            (br $pLoop)))
          ;; pixels past the last multiple of 4, one at a time
          (block $lDone (loop $lLoop
            (br_if $lDone (i32.ge_s (local.get $ow) (local.get $outW)))
            (call $bpiPixel (i32.add (local.get $dyRow) (i32.mul (local.get $ow) (local.get $dyPix)))
              (local.get $wK) (i32.add (local.get $dxRow) (i32.mul (local.get $ow) (local.get $xStep)))
              (i32.const 0) (local.get $run4) (local.get $run) (local.get $outC) (local.get $kkBytes))
            (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
            (br $lLoop)))
          (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
          (br $khLoop)))
        (local.set $dyRow (i32.add (local.get $dyRow) (i32.mul (local.get $outW) (local.get $dyPix))))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; one dy pixel's contribution to its dx run from float r on (conv_bpi):
  ;; 4 floats at a time while r < run4, then one at a time.
  (func $bpiPixel (param $dp i32) (param $wK i32) (param $q i32) (param $r i32) (param $run4 i32)
    (param $run i32) (param $outC i32) (param $kkBytes i32)
    (local $co i32) (local $wp i32) (local $dpc i32) (local $a v128) (local $f f32) (local $at i32)
    (block $vDone (loop $vLoop
      (br_if $vDone (i32.ge_s (local.get $r) (local.get $run4)))
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $wp (i32.add (local.get $wK) (i32.shl (local.get $r) (i32.const 2))))
      (local.set $dpc (local.get $dp))
      (local.set $co (i32.const 0))
      (block $cDone (loop $cLoop
        (br_if $cDone (i32.ge_s (local.get $co) (local.get $outC)))
        (local.set $a (f32x4.add (local.get $a) (f32x4.mul (v128.load32_splat (local.get $dpc)) (v128.load (local.get $wp)))))
        (local.set $dpc (i32.add (local.get $dpc) (i32.const 4)))
        (local.set $wp (i32.add (local.get $wp) (local.get $kkBytes)))
        (local.set $co (i32.add (local.get $co) (i32.const 1)))
        (br $cLoop)))
      (local.set $at (i32.add (local.get $q) (i32.shl (local.get $r) (i32.const 2))))
      (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (local.get $a)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br $vLoop)))
    (block $sDone (loop $sLoop
      (br_if $sDone (i32.ge_s (local.get $r) (local.get $run)))
      (local.set $f (f32.const 0))
      (local.set $wp (i32.add (local.get $wK) (i32.shl (local.get $r) (i32.const 2))))
      (local.set $dpc (local.get $dp))
      (local.set $co (i32.const 0))
      (block $c1Done (loop $c1Loop
        (br_if $c1Done (i32.ge_s (local.get $co) (local.get $outC)))
        (local.set $f (f32.add (local.get $f) (f32.mul (f32.load (local.get $dpc)) (f32.load (local.get $wp)))))
        (local.set $dpc (i32.add (local.get $dpc) (i32.const 4)))
        (local.set $wp (i32.add (local.get $wp) (local.get $kkBytes)))
        (local.set $co (i32.add (local.get $co) (i32.const 1)))
        (br $c1Loop)))
      (local.set $at (i32.add (local.get $q) (i32.shl (local.get $r) (i32.const 2))))
      (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (local.get $f)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $sLoop))))

  ;; ---------------------------------------------------------- max_pool_2x2
  ;; 2x2 stride-2 unpadded max pooling, NHWC: y = the first maximum of each
  ;; window as the cpu backend computes it (best starts at -inf and takes v
  ;; only when v > best, so NaN never wins and an all-NaN window gives -inf):
  ;; f32x4.pmax(best, v) is exactly best < v ? v : best. Rows/columns no
  ;; window covers (odd sizes) are skipped.
  (func (export "max_pool_2x2")
    (param $x i32) (param $y i32) (param $nb i32) (param $inH i32) (param $inW i32) (param $c i32)
    (param $outH i32) (param $outW i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $ch i32) (local $p i32) (local $q i32)
    (local $rs i32) (local $c4 i32) (local $cv i32) (local $row i32) (local $best f32) (local $v f32)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rs (i32.mul (local.get $inW) (local.get $c4)))
    (local.set $cv (i32.and (local.get $c) (i32.const -4)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_s (local.get $b) (local.get $nb)))
      (local.set $oh (i32.const 0))
      (block $ohDone (loop $ohLoop
        (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
        (local.set $row (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH))
          (i32.shl (local.get $oh) (i32.const 1))) (local.get $rs))))
        (local.set $ow (i32.const 0))
        (block $owDone (loop $owLoop
          (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
          (local.set $p (i32.add (local.get $row) (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $c4))))
          (local.set $ch (i32.const 0))
          (block $vDone (loop $vLoop
            (br_if $vDone (i32.ge_s (local.get $ch) (local.get $cv)))
            (local.set $q (i32.add (local.get $p) (i32.shl (local.get $ch) (i32.const 2))))
            (v128.store (local.get $y)
              (f32x4.pmax
                (f32x4.pmax
                  (f32x4.pmax
                    (f32x4.pmax (v128.const f32x4 -inf -inf -inf -inf) (v128.load (local.get $q)))
                    (v128.load (i32.add (local.get $q) (local.get $c4))))
                  (v128.load (i32.add (local.get $q) (local.get $rs))))
                (v128.load (i32.add (i32.add (local.get $q) (local.get $rs)) (local.get $c4)))))
            (local.set $y (i32.add (local.get $y) (i32.const 16)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $vLoop)))
          (block $sDone (loop $sLoop
            (br_if $sDone (i32.ge_s (local.get $ch) (local.get $c)))
            (local.set $q (i32.add (local.get $p) (i32.shl (local.get $ch) (i32.const 2))))
            (local.set $best (f32.const -inf))
            (local.set $v (f32.load (local.get $q)))
            (local.set $best (select (local.get $v) (local.get $best) (f32.gt (local.get $v) (local.get $best))))
            (local.set $v (f32.load (i32.add (local.get $q) (local.get $c4))))
            (local.set $best (select (local.get $v) (local.get $best) (f32.gt (local.get $v) (local.get $best))))
            (local.set $v (f32.load (i32.add (local.get $q) (local.get $rs))))
            (local.set $best (select (local.get $v) (local.get $best) (f32.gt (local.get $v) (local.get $best))))
            (local.set $v (f32.load (i32.add (i32.add (local.get $q) (local.get $rs)) (local.get $c4))))
            (local.set $best (select (local.get $v) (local.get $best) (f32.gt (local.get $v) (local.get $best))))
            (f32.store (local.get $y) (local.get $best))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $sLoop)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owLoop)))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; ------------------------------------------------------------- relu_grad
  ;; out = dy * step(x) for n floats: step(x) = 1 when x > 0, NaN when x is
  ;; NaN, else 0 (tfjs's Step), then a real multiply, so the bits equal
  ;; mul(dy, step(x)) (dy * 0 keeps dy's sign; inf * 0 is NaN).
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $e i32) (local $v v128) (local $s v128) (local $f f32) (local $t f32)
    (local.set $e (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vDone (loop $vLoop
      (br_if $vDone (i32.ge_u (local.get $out) (local.get $e)))
      (local.set $v (v128.load (local.get $x)))
      (local.set $s (v128.and (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))
      (local.set $s (v128.bitselect (local.get $v) (local.get $s) (f32x4.ne (local.get $v) (local.get $v))))
      (v128.store (local.get $out) (f32x4.mul (v128.load (local.get $dy)) (local.get $s)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $vLoop)))
    (local.set $e (i32.add (local.get $e) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $sDone (loop $sLoop
      (br_if $sDone (i32.ge_u (local.get $out) (local.get $e)))
      (local.set $f (f32.load (local.get $x)))
      (local.set $t (select (f32.const 1) (f32.const 0) (f32.gt (local.get $f) (f32.const 0))))
      (local.set $t (select (local.get $f) (local.get $t) (f32.ne (local.get $f) (local.get $f))))
      (f32.store (local.get $out) (f32.mul (f32.load (local.get $dy)) (local.get $t)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (br $sLoop))))
)
