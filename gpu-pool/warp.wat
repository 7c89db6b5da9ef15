;; The warp's hot loops in WebAssembly SIMD (warp-simd.ts loads them; `npm run build:wasm` assembles this
;; into warp.wasm, and gpu-pool/test/warp-simd.test.ts checks that the two agree). Every result is bit
;; for bit what the plain loops give (warp-plan.ts): the same arithmetic in the same order, in f64 where
;; they compute in JavaScript numbers.
;;
;; plan_row — once per depth row: the row's half-disparities at the luma's width (depth interpolated
;; along x, normalised, shifted by the convergence, scaled), each eye's occlusion-aware disparities, and
;; each eye's sample plans — the luma's, and the chroma's, whose pixel x takes half the disparity of the
;; eye's luma pixel 2x (warp-plan.ts fillDisparity, occlusionRows, planRow, LoopWarper.plan) — in two
;; passes over the row.
;;
;; warp_row — once per output row and eye: dst[x] = (src[i]·(256 − w) + src[i + 1]·w) >> 8, where the
;; plan gives each output pixel x its source index i and weight w. Sixteen pixels at a time: a block's
;; sources lie close together (disparity changes slowly along a row), so they are picked out of one or
;; two 16-byte windows of the source row by i8x16.swizzle — a gather in two instructions. A block whose
;; sources spread wider (a sharp depth edge) and the row's last width % 16 pixels go one by one.
;;
;; An eye's plan, per block k of 16 pixels (all in this module's memory, laid out by warp-simd.ts):
;;   abs[16k…] i32  i
;;   wt[16k…]  u8   w
;;   rel[16k…] u8   i − base
;;   base[k]   i32  the block's smallest source index
;;   mode[k]   u8   0: every i + 1 − base < 16 (one window), 1: < 32 (two), 2: wider (pixel by pixel)
;; The source row may be read up to 32 bytes past its end (the caller pads the buffer): those bytes are
;; never selected, or selected with weight 0.
(module
  (memory (export "memory") 1)

  ;; dst[x] for x in [from, to), one pixel at a time.
  (func $pixels (param $src i32) (param $dst i32) (param $wt i32) (param $abs i32) (param $from i32) (param $to i32)
    (local $x i32) (local $i i32) (local $w i32)
    (local.set $x (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $to)))
        (local.set $i (i32.add (local.get $src) (i32.load (i32.add (local.get $abs) (i32.shl (local.get $x) (i32.const 2))))))
        (local.set $w (i32.load8_u (i32.add (local.get $wt) (local.get $x))))
        (i32.store8
          (i32.add (local.get $dst) (local.get $x))
          (i32.shr_u
            (i32.add
              (i32.mul (i32.load8_u (local.get $i)) (i32.sub (i32.const 256) (local.get $w)))
              (i32.mul (i32.load8_u offset=1 (local.get $i)) (local.get $w)))
            (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $next))))

  ;; Block k of an eye's plan from its abs: base, mode and (unless the block spreads wider than two
  ;; windows) rel. A pixel reads its index and the next, so a block spans max + 2 − min bytes.
  (func $block (param $k i32) (param $abs i32) (param $rel i32) (param $base i32) (param $mode i32)
    (local $from i32) (local $i i32) (local $v i32) (local $min i32) (local $max i32) (local $span i32)
    (local.set $from (i32.shl (local.get $k) (i32.const 4)))
    (local.set $min (i32.load (i32.add (local.get $abs) (i32.shl (local.get $from) (i32.const 2)))))
    (local.set $max (local.get $min))
    (local.set $i (i32.const 1))
    (loop $scan
      (local.set $v (i32.load (i32.add (local.get $abs) (i32.shl (i32.add (local.get $from) (local.get $i)) (i32.const 2)))))
      (if (i32.lt_s (local.get $v) (local.get $min)) (then (local.set $min (local.get $v))))
      (if (i32.gt_s (local.get $v) (local.get $max)) (then (local.set $max (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $scan (i32.lt_u (local.get $i) (i32.const 16))))
    (local.set $span (i32.sub (i32.add (local.get $max) (i32.const 2)) (local.get $min)))
    (i32.store (i32.add (local.get $base) (i32.shl (local.get $k) (i32.const 2))) (local.get $min))
    (i32.store8 (i32.add (local.get $mode) (local.get $k))
      (select (i32.const 0)
        (select (i32.const 1) (i32.const 2) (i32.le_s (local.get $span) (i32.const 32)))
        (i32.le_s (local.get $span) (i32.const 16))))
    (if (i32.le_s (local.get $span) (i32.const 32))
      (then
        (local.set $i (i32.const 0))
        (loop $relative
          (i32.store8 (i32.add (local.get $rel) (i32.add (local.get $from) (local.get $i)))
            (i32.sub
              (i32.load (i32.add (local.get $abs) (i32.shl (i32.add (local.get $from) (local.get $i)) (i32.const 2))))
              (local.get $min)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $relative (i32.lt_u (local.get $i) (i32.const 16)))))))

  ;; Both eyes' plans for the luma plane (`width` wide) and the chroma planes (width / 2) from one depth
  ;; row (`depth`: its dw values), in two passes. `disp`: three rows of f32 scratch, each `stride` bytes
  ;; (the row's disparities, then the left and right eye's); `plans`: each eye's abs, wt, rel, base and
  ;; mode, twenty pointers — the luma's left and right eye, then the chroma's.
  ;; 1. Each pixel's disparity; with occlusion, each source point s lands on one pixel per eye,
  ;;    round(s ± d) (as floor(s ± d + 0.5)), the nearest (largest d) winning (warp-plan.ts occlusionRows).
  ;; 2. Each eye's disparity at x (where nothing landed, the pixel's own), its sample — (x ∓ d)·256
  ;;    truncated, clamped to the row (warp-plan.ts planRow) — at an even x also its chroma pixel's, and
  ;;    each whole block of 16 as soon as its pixels are planned.
  (func (export "plan_row")
    (param $depth i32) (param $dw i32) (param $width i32) (param $xRatio f64) (param $min f64)
    (param $scale f64) (param $conv f64) (param $maxHalf f64) (param $occlusion i32)
    (param $disp i32) (param $stride i32) (param $plans i32)
    (local $left i32) (local $right i32) (local $x i32) (local $v f32) (local $p f64) (local $to i32) (local $at i32)
    (local $lastFx i32) (local $fx i32) (local $d f32)
    (local $fx64 f64) (local $x0 i32) (local $x1 i32) (local $t f64) (local $n f64)
    (local $cw i32) (local $xc i32) (local $even i32) (local $lastFxC i32)
    (local $labs i32) (local $lwt i32) (local $rabs i32) (local $rwt i32)
    (local.set $left (i32.add (local.get $disp) (local.get $stride)))
    (local.set $right (i32.add (local.get $left) (local.get $stride)))
    (if (local.get $occlusion)
      (then
        ;; −∞ everywhere, four at a time (the rows are padded to a multiple of 16 bytes).
        (block $cleared
          (loop $clear
            (br_if $cleared (i32.ge_u (local.get $x) (local.get $width)))
            (v128.store (i32.add (local.get $left) (i32.shl (local.get $x) (i32.const 2))) (f32x4.splat (f32.const -inf)))
            (v128.store (i32.add (local.get $right) (i32.shl (local.get $x) (i32.const 2))) (f32x4.splat (f32.const -inf)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (br $clear)))))
    ;; Pass 1.
    (local.set $x (i32.const 0))
    (block $filled
      (loop $fill
        (br_if $filled (i32.ge_u (local.get $x) (local.get $width)))
        ;; The pixel's disparity (warp-plan.ts fillDisparity; inlined: this runs once per pixel).
        (local.set $fx64 (f64.mul (f64.convert_i32_s (local.get $x)) (local.get $xRatio)))
        (local.set $x0 (i32.trunc_sat_f64_s (local.get $fx64)))
        (local.set $x1
          (select (i32.add (local.get $x0) (i32.const 1)) (local.get $x0)
            (i32.lt_s (i32.add (local.get $x0) (i32.const 1)) (local.get $dw))))
        (local.set $t (f64.sub (local.get $fx64) (f64.convert_i32_s (local.get $x0))))
        (local.set $n
          (f64.mul
            (f64.sub
              (f64.add
                (f64.mul
                  (f64.promote_f32 (f32.load (i32.add (local.get $depth) (i32.shl (local.get $x0) (i32.const 2)))))
                  (f64.sub (f64.const 1) (local.get $t)))
                (f64.mul
                  (f64.promote_f32 (f32.load (i32.add (local.get $depth) (i32.shl (local.get $x1) (i32.const 2)))))
                  (local.get $t)))
              (local.get $min))
            (local.get $scale)))
        ;; n < 0 ? 0 : n > 1 ? 1 : n (a NaN stays NaN, as in JavaScript)
        (if (f64.lt (local.get $n) (f64.const 0))
          (then (local.set $n (f64.const 0)))
          (else (if (f64.gt (local.get $n) (f64.const 1)) (then (local.set $n (f64.const 1))))))
        (local.set $v (f32.demote_f64 (f64.mul (f64.sub (local.get $n) (local.get $conv)) (local.get $maxHalf))))
        (f32.store (i32.add (local.get $disp) (i32.shl (local.get $x) (i32.const 2))) (local.get $v))
        (if (local.get $occlusion)
          (then
            (local.set $p (f64.convert_i32_s (local.get $x)))
            (local.set $to (i32.trunc_sat_f64_s
              (f64.floor (f64.add (f64.add (local.get $p) (f64.promote_f32 (local.get $v))) (f64.const 0.5)))))
            (if (i32.lt_u (local.get $to) (local.get $width))
              (then
                (local.set $at (i32.add (local.get $left) (i32.shl (local.get $to) (i32.const 2))))
                (if (f32.gt (local.get $v) (f32.load (local.get $at))) (then (f32.store (local.get $at) (local.get $v))))))
            (local.set $to (i32.trunc_sat_f64_s
              (f64.floor (f64.add (f64.sub (local.get $p) (f64.promote_f32 (local.get $v))) (f64.const 0.5)))))
            (if (i32.lt_u (local.get $to) (local.get $width))
              (then
                (local.set $at (i32.add (local.get $right) (i32.shl (local.get $to) (i32.const 2))))
                (if (f32.gt (local.get $v) (f32.load (local.get $at))) (then (f32.store (local.get $at) (local.get $v))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $fill)))
    ;; Pass 2.
    (local.set $lastFx (i32.shl (i32.sub (local.get $width) (i32.const 1)) (i32.const 8)))
    (local.set $cw (i32.shr_u (local.get $width) (i32.const 1)))
    (local.set $lastFxC (i32.shl (i32.sub (local.get $cw) (i32.const 1)) (i32.const 8)))
    (local.set $labs (i32.load offset=0 (local.get $plans)))
    (local.set $lwt (i32.load offset=4 (local.get $plans)))
    (local.set $rabs (i32.load offset=20 (local.get $plans)))
    (local.set $rwt (i32.load offset=24 (local.get $plans)))
    (local.set $x (i32.const 0))
    (block $planned
      (loop $plan
        (br_if $planned (i32.ge_u (local.get $x) (local.get $width)))
        (local.set $v (f32.load (i32.add (local.get $disp) (i32.shl (local.get $x) (i32.const 2)))))
        ;; An even x has a chroma pixel x / 2 (unless the width is odd and x is the last).
        (local.set $xc (i32.shr_u (local.get $x) (i32.const 1)))
        (local.set $even (i32.and (i32.eqz (i32.and (local.get $x) (i32.const 1))) (i32.lt_u (local.get $xc) (local.get $cw))))
        ;; Left eye.
        (local.set $d (local.get $v))
        (if (local.get $occlusion)
          (then
            (local.set $d (f32.load (i32.add (local.get $left) (i32.shl (local.get $x) (i32.const 2)))))
            (if (f32.eq (local.get $d) (f32.const -inf)) (then (local.set $d (local.get $v))))))
        (local.set $fx (i32.trunc_sat_f64_s
          (f64.mul (f64.sub (f64.convert_i32_s (local.get $x)) (f64.promote_f32 (local.get $d))) (f64.const 256))))
        (if (i32.lt_s (local.get $fx) (i32.const 0)) (then (local.set $fx (i32.const 0))))
        (if (i32.gt_s (local.get $fx) (local.get $lastFx)) (then (local.set $fx (local.get $lastFx))))
        (i32.store (i32.add (local.get $labs) (i32.shl (local.get $x) (i32.const 2))) (i32.shr_s (local.get $fx) (i32.const 8)))
        (i32.store8 (i32.add (local.get $lwt) (local.get $x)) (i32.and (local.get $fx) (i32.const 255)))
        ;; Its chroma pixel (an even x): half this disparity, at half the position.
        (if (local.get $even)
          (then
            (local.set $fx (i32.trunc_sat_f64_s
              (f64.mul (f64.sub (f64.convert_i32_s (local.get $xc)) (f64.promote_f32 (f32.mul (local.get $d) (f32.const 0.5))))
                (f64.const 256))))
            (if (i32.lt_s (local.get $fx) (i32.const 0)) (then (local.set $fx (i32.const 0))))
            (if (i32.gt_s (local.get $fx) (local.get $lastFxC)) (then (local.set $fx (local.get $lastFxC))))
            (i32.store (i32.add (i32.load offset=40 (local.get $plans)) (i32.shl (local.get $xc) (i32.const 2)))
              (i32.shr_s (local.get $fx) (i32.const 8)))
            (i32.store8 (i32.add (i32.load offset=44 (local.get $plans)) (local.get $xc)) (i32.and (local.get $fx) (i32.const 255)))))
        ;; Right eye.
        (local.set $d (local.get $v))
        (if (local.get $occlusion)
          (then
            (local.set $d (f32.load (i32.add (local.get $right) (i32.shl (local.get $x) (i32.const 2)))))
            (if (f32.eq (local.get $d) (f32.const -inf)) (then (local.set $d (local.get $v))))))
        (local.set $fx (i32.trunc_sat_f64_s
          (f64.mul (f64.add (f64.convert_i32_s (local.get $x)) (f64.promote_f32 (local.get $d))) (f64.const 256))))
        (if (i32.lt_s (local.get $fx) (i32.const 0)) (then (local.set $fx (i32.const 0))))
        (if (i32.gt_s (local.get $fx) (local.get $lastFx)) (then (local.set $fx (local.get $lastFx))))
        (i32.store (i32.add (local.get $rabs) (i32.shl (local.get $x) (i32.const 2))) (i32.shr_s (local.get $fx) (i32.const 8)))
        (i32.store8 (i32.add (local.get $rwt) (local.get $x)) (i32.and (local.get $fx) (i32.const 255)))
        ;; Its chroma pixel (an even x): half this disparity, at half the position.
        (if (local.get $even)
          (then
            (local.set $fx (i32.trunc_sat_f64_s
              (f64.mul (f64.add (f64.convert_i32_s (local.get $xc)) (f64.promote_f32 (f32.mul (local.get $d) (f32.const 0.5))))
                (f64.const 256))))
            (if (i32.lt_s (local.get $fx) (i32.const 0)) (then (local.set $fx (i32.const 0))))
            (if (i32.gt_s (local.get $fx) (local.get $lastFxC)) (then (local.set $fx (local.get $lastFxC))))
            (i32.store (i32.add (i32.load offset=60 (local.get $plans)) (i32.shl (local.get $xc) (i32.const 2)))
              (i32.shr_s (local.get $fx) (i32.const 8)))
            (i32.store8 (i32.add (i32.load offset=64 (local.get $plans)) (local.get $xc)) (i32.and (local.get $fx) (i32.const 255)))))
        ;; A block of 16 complete: both eyes' base, mode and rel.
        (if (i32.eq (i32.and (local.get $x) (i32.const 15)) (i32.const 15))
          (then
            (call $block (i32.shr_u (local.get $x) (i32.const 4)) (local.get $labs)
              (i32.load offset=8 (local.get $plans)) (i32.load offset=12 (local.get $plans)) (i32.load offset=16 (local.get $plans)))
            (call $block (i32.shr_u (local.get $x) (i32.const 4)) (local.get $rabs)
              (i32.load offset=28 (local.get $plans)) (i32.load offset=32 (local.get $plans)) (i32.load offset=36 (local.get $plans)))))
        ;; And of the chroma's.
        (if (i32.and (local.get $even) (i32.eq (i32.and (local.get $xc) (i32.const 15)) (i32.const 15)))
          (then
            (call $block (i32.shr_u (local.get $xc) (i32.const 4)) (i32.load offset=40 (local.get $plans))
              (i32.load offset=48 (local.get $plans)) (i32.load offset=52 (local.get $plans)) (i32.load offset=56 (local.get $plans)))
            (call $block (i32.shr_u (local.get $xc) (i32.const 4)) (i32.load offset=60 (local.get $plans))
              (i32.load offset=68 (local.get $plans)) (i32.load offset=72 (local.get $plans)) (i32.load offset=76 (local.get $plans)))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $plan))))

  ;; One row of one eye, `width` pixels from the source row at `src` into `dst`, by the plan.
  (func (export "warp_row")
    (param $src i32) (param $dst i32) (param $width i32)
    (param $base i32) (param $mode i32) (param $rel i32) (param $wt i32) (param $abs i32)
    (local $k i32) (local $blocks i32) (local $m i32) (local $at i32) (local $window i32)
    (local $idx v128) (local $next v128) (local $w v128) (local $lo v128) (local $hi v128) (local $a v128) (local $c v128)
    (local.set $blocks (i32.shr_u (local.get $width) (i32.const 4)))
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $k) (local.get $blocks)))
        (local.set $at (i32.shl (local.get $k) (i32.const 4)))
        (local.set $m (i32.load8_u (i32.add (local.get $mode) (local.get $k))))
        (if (i32.eq (local.get $m) (i32.const 2))
          (then
            (call $pixels (local.get $src) (local.get $dst) (local.get $wt) (local.get $abs)
              (local.get $at) (i32.add (local.get $at) (i32.const 16))))
          (else
            (local.set $window
              (i32.add (local.get $src) (i32.load (i32.add (local.get $base) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $idx (v128.load (i32.add (local.get $rel) (local.get $at))))
            (local.set $next (i8x16.add (local.get $idx) (i8x16.splat (i32.const 1))))
            (local.set $lo (v128.load (local.get $window)))
            (local.set $a (i8x16.swizzle (local.get $lo) (local.get $idx)))
            (local.set $c (i8x16.swizzle (local.get $lo) (local.get $next)))
            (if (local.get $m)
              (then
                ;; Indices 16…31 from the second window (below 16 they wrap past 127: swizzle gives 0).
                (local.set $hi (v128.load offset=16 (local.get $window)))
                (local.set $a
                  (v128.or (local.get $a)
                    (i8x16.swizzle (local.get $hi) (i8x16.sub (local.get $idx) (i8x16.splat (i32.const 16))))))
                (local.set $c
                  (v128.or (local.get $c)
                    (i8x16.swizzle (local.get $hi) (i8x16.sub (local.get $next) (i8x16.splat (i32.const 16))))))))
            (local.set $w (v128.load (i32.add (local.get $wt) (local.get $at))))
            ;; (a·(256 − w) + c·w) >> 8 on 16-bit lanes, as (a·256 + (c − a)·w) >> 8: exact, the sum fits 16 bits.
            (local.set $lo (i16x8.extend_low_i8x16_u (local.get $a)))
            (local.set $hi (i16x8.extend_high_i8x16_u (local.get $a)))
            (v128.store
              (i32.add (local.get $dst) (local.get $at))
              (i8x16.narrow_i16x8_u
                (i16x8.shr_u
                  (i16x8.add (i16x8.shl (local.get $lo) (i32.const 8))
                    (i16x8.mul (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $c)) (local.get $lo))
                      (i16x8.extend_low_i8x16_u (local.get $w))))
                  (i32.const 8))
                (i16x8.shr_u
                  (i16x8.add (i16x8.shl (local.get $hi) (i32.const 8))
                    (i16x8.mul (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $c)) (local.get $hi))
                      (i16x8.extend_high_i8x16_u (local.get $w))))
                  (i32.const 8))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $block)))
    ;; The last width % 16 pixels.
    (call $pixels (local.get $src) (local.get $dst) (local.get $wt) (local.get $abs)
      (i32.shl (local.get $blocks) (i32.const 4)) (local.get $width)))
)
