//! Convolutions of NCHW tensors (PyTorch's layout: input `[N, C, H, W]`,
//! weight `[C_out, C_in/groups, kH, kW]`), as im2col followed by one faer
//! product per image and group, and the two adjoints a backward pass needs:
//!
//! - [`Tensor::conv2d`]: y = W ⋆ x (+ b), zero padding on any side;
//! - [`Tensor::conv2d_input_grad`]: the adjoint in x, Wᵀ·∂y folded back by
//!   col2im. It is also the transposed convolution;
//! - [`Tensor::conv2d_weight_grad`]: the adjoint in W, Σₙ ∂yₙ·colₙᵀ.
//!
//! The column buffer holds one image of one group (`C_in/groups·kH·kW` rows
//! by `H_out·W_out` columns: 139 KiB for a 32→64 3×3 layer on 11×11 outputs),
//! so it stays in cache between the im2col pass and the product. Batches
//! whose work reaches [`PARALLEL_CONV_MACS`] split over images on rayon's
//! pool, each image's product sequential; weight gradients are summed from
//! one partial per thread in a fixed order. A 1×1 kernel with stride 1 and
//! no padding skips im2col: the image is its own column matrix.

use crate::error::{Result, TensorError, or_panic};
use crate::simd_state::after_faer;
use crate::storage::alloc;
use crate::{Float, Tensor};
use faer::linalg::matmul::matmul as faer_matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Multiply-adds from which a convolution over a batch runs its images on
/// several threads (the same line as a matrix product's).
pub const PARALLEL_CONV_MACS: usize = 1 << 22;

/// Where a 2-D convolution's kernel goes: stride, zero padding on each side,
/// dilation and groups, the geometry PyTorch's `F.conv2d` takes (with
/// asymmetric padding, which `padding="same"` needs for even kernels).
///
/// ```
/// use gradus_tensor::ConvGeometry;
///
/// let g = ConvGeometry::new([2, 2], [1, 1], [1, 1], 1);
/// assert_eq!(g.output_size([28, 28], [3, 3]), Some([14, 14]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Steps between windows, (rows, columns).
    pub stride: [usize; 2],
    /// Zero rows and columns added: `[[top, bottom], [left, right]]`.
    pub padding: [[usize; 2]; 2],
    /// Spacing between kernel taps, (rows, columns).
    pub dilation: [usize; 2],
    /// Channel groups: input and output channels split into this many
    /// independent convolutions.
    pub groups: usize,
}

impl Default for ConvGeometry {
    fn default() -> Self {
        Self::new([1, 1], [0, 0], [1, 1], 1)
    }
}

impl ConvGeometry {
    /// A geometry with the same padding on both sides of each axis.
    pub fn new(stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2], groups: usize) -> Self {
        Self { stride, padding: [[padding[0]; 2], [padding[1]; 2]], dilation, groups }
    }

    /// The output's (rows, columns) for an input and kernel of these sizes:
    /// ⌊(in + pads − dilation·(k − 1) − 1)/stride⌋ + 1, or `None` when the
    /// dilated kernel is larger than the padded input or a stride or
    /// dilation is 0.
    pub fn output_size(&self, input: [usize; 2], kernel: [usize; 2]) -> Option<[usize; 2]> {
        let mut out = [0; 2];
        for a in 0..2 {
            if self.stride[a] == 0 || self.dilation[a] == 0 || kernel[a] == 0 {
                return None;
            }
            let padded = input[a] + self.padding[a][0] + self.padding[a][1];
            let span = self.dilation[a] * (kernel[a] - 1) + 1;
            if padded < span {
                return None;
            }
            out[a] = (padded - span) / self.stride[a] + 1;
        }
        Some(out)
    }

    fn is_pointwise(&self, kernel: [usize; 2]) -> bool {
        kernel == [1, 1] && self.stride == [1, 1] && self.padding == [[0; 2]; 2]
    }
}

/// Sizes of one convolution, checked once.
#[derive(Clone, Copy, Debug)]
struct Plan {
    n: usize,
    cin: usize,
    inp: [usize; 2],
    cout: usize,
    kernel: [usize; 2],
    out: [usize; 2],
    geom: ConvGeometry,
}

impl Plan {
    /// Checks the input `[N, C_in, H, W]` against the weight
    /// `[C_out, C_in/groups, kH, kW]`; `out` forces the output size (the
    /// input gradient knows it from ∂y), else it is computed.
    fn new(op: &'static str, x: &[usize], w: &[usize], geom: ConvGeometry) -> Result<Self> {
        let err = |reason: String| TensorError::ShapeMismatch { op, lhs: x.to_vec(), rhs: w.to_vec(), reason };
        if x.len() != 4 || w.len() != 4 {
            return Err(err("the input must be [N, C, H, W] and the weight [C_out, C_in/groups, kH, kW]".into()));
        }
        let g = geom.groups;
        if g == 0 || !x[1].is_multiple_of(g) || !w[0].is_multiple_of(g) {
            return Err(err(format!(
                "groups={g} must divide the input channels ({}) and the output channels ({})",
                x[1], w[0]
            )));
        }
        if w[1] * g != x[1] {
            return Err(err(format!(
                "the weight takes {} input channels per group ({} in all with groups={g}), the input has {}",
                w[1],
                w[1] * g,
                x[1]
            )));
        }
        let kernel = [w[2], w[3]];
        let out = geom.output_size([x[2], x[3]], kernel).ok_or_else(|| {
            err(format!(
                "the kernel {:?} with dilation {:?} is larger than the padded input ({}×{} with padding {:?}), or a stride or dilation is 0",
                kernel, geom.dilation, x[2], x[3], geom.padding
            ))
        })?;
        Ok(Self { n: x[0], cin: x[1], inp: [x[2], x[3]], cout: w[0], kernel, out, geom })
    }

    fn cin_g(&self) -> usize {
        self.cin / self.geom.groups
    }
    fn cout_g(&self) -> usize {
        self.cout / self.geom.groups
    }
    /// Rows of a column matrix: C_in/groups·kH·kW.
    fn k(&self) -> usize {
        self.cin_g() * self.kernel[0] * self.kernel[1]
    }
    /// Columns of a column matrix: H_out·W_out.
    fn p(&self) -> usize {
        self.out[0] * self.out[1]
    }
    fn in_image(&self) -> usize {
        self.cin * self.inp[0] * self.inp[1]
    }
    fn out_image(&self) -> usize {
        self.cout * self.p()
    }
    fn macs(&self) -> usize {
        self.n.saturating_mul(self.cout).saturating_mul(self.k()).saturating_mul(self.p())
    }
    fn pointwise(&self) -> bool {
        self.geom.is_pointwise(self.kernel)
    }
    /// Whether to run images on several threads.
    fn batch_parallel(&self) -> bool {
        self.n > 1 && self.macs() >= PARALLEL_CONV_MACS && rayon::current_num_threads() > 1
    }
    /// The product's parallelism inside one image (when the batch is not split).
    fn image_par(&self) -> Par {
        if !self.batch_parallel() && self.macs() >= PARALLEL_CONV_MACS && rayon::current_num_threads() > 1 {
            Par::rayon(0)
        } else {
            Par::Seq
        }
    }

    /// The range of output columns `ox` whose input column
    /// `ox·stride + offset` lies inside `0..len`.
    fn valid(out: usize, len: usize, stride: usize, offset: isize) -> (usize, usize) {
        let lo = if offset < 0 { ((-offset) as usize).div_ceil(stride) } else { 0 };
        let room = len as isize - offset;
        let hi = if room <= 0 { 0 } else { (room as usize).div_ceil(stride).min(out) };
        (lo.min(hi), hi)
    }

    /// Copies one group of one image (`C_in/groups` planes) into its column
    /// matrix, row (c, i, j) holding the input under tap (i, j) of channel c
    /// for every output position; zero where the tap falls in the padding.
    fn im2col<T: Float>(&self, x: &[T], col: &mut [T]) {
        let ([h, w], [kh, kw], [oh, ow]) = (self.inp, self.kernel, self.out);
        let (g, p) = (self.geom, self.p());
        let mut rows = col.chunks_exact_mut(p);
        for c in 0..self.cin_g() {
            let plane = &x[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let dst = rows.next().expect("one row per tap");
                    let off_x = (j * g.dilation[1]) as isize - g.padding[1][0] as isize;
                    let (lo, hi) = Self::valid(ow, w, g.stride[1], off_x);
                    for oy in 0..oh {
                        let seg = &mut dst[oy * ow..(oy + 1) * ow];
                        let iy = (oy * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0][0] as isize;
                        if iy < 0 || iy >= h as isize || lo >= hi {
                            seg.fill(T::zero());
                            continue;
                        }
                        let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                        seg[..lo].fill(T::zero());
                        seg[hi..].fill(T::zero());
                        let start = (lo as isize * g.stride[1] as isize + off_x) as usize;
                        if g.stride[1] == 1 {
                            seg[lo..hi].copy_from_slice(&src[start..start + hi - lo]);
                        } else {
                            for (d, s) in seg[lo..hi].iter_mut().zip(src[start..].iter().step_by(g.stride[1])) {
                                *d = *s;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`im2col`](Self::im2col): adds each column entry into
    /// the input position it was copied from (`x` must start zeroed).
    fn col2im<T: Float>(&self, col: &[T], x: &mut [T]) {
        let ([h, w], [kh, kw], [oh, ow]) = (self.inp, self.kernel, self.out);
        let (g, p) = (self.geom, self.p());
        let mut rows = col.chunks_exact(p);
        for c in 0..self.cin_g() {
            let plane = &mut x[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let src = rows.next().expect("one row per tap");
                    let off_x = (j * g.dilation[1]) as isize - g.padding[1][0] as isize;
                    let (lo, hi) = Self::valid(ow, w, g.stride[1], off_x);
                    if lo >= hi {
                        continue;
                    }
                    for oy in 0..oh {
                        let iy = (oy * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0][0] as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let seg = &src[oy * ow + lo..oy * ow + hi];
                        let start = (lo as isize * g.stride[1] as isize + off_x) as usize;
                        let dst = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                        if g.stride[1] == 1 {
                            dst[start..start + seg.len()].iter_mut().zip(seg).for_each(|(d, s)| *d += *s);
                        } else {
                            for (d, s) in dst[start..].iter_mut().step_by(g.stride[1]).zip(seg) {
                                *d += *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A row-major `rows × cols` matrix view of a slice.
fn mat<T>(data: &[T], rows: usize, cols: usize) -> MatRef<'_, T> {
    MatRef::from_row_major_slice(&data[..rows * cols], rows, cols)
}

/// Runs `f(image index, output chunk, scratch)` for every image, over
/// rayon's pool when `parallel`, with one scratch buffer of `scratch` elements
/// per job.
fn for_each_image<T: Float>(
    out: &mut [T],
    per_image: usize,
    scratch: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [T], &mut [T]) + Sync,
) {
    if per_image == 0 {
        return;
    }
    if parallel {
        out.par_chunks_mut(per_image).enumerate().for_each_init(|| alloc::<T>(scratch), |s, (i, o)| f(i, o, s));
        after_faer(Par::rayon(0));
    } else {
        let mut s = alloc::<T>(scratch);
        out.chunks_mut(per_image).enumerate().for_each(|(i, o)| f(i, o, &mut s));
    }
}

impl<T: Float> Tensor<T> {
    /// The 2-D convolution (cross-correlation, as `torch.nn.functional.conv2d`)
    /// of `self` `[N, C_in, H, W]` with `weight` `[C_out, C_in/groups, kH, kW]`,
    /// plus `bias` `[C_out]`: `[N, C_out, H_out, W_out]`.
    ///
    /// ```
    /// use gradus_tensor::{ConvGeometry, Tensor};
    ///
    /// let x = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3]).unwrap();
    /// let w = Tensor::from_vec(vec![1.0, 0.0, 0.0, -1.0], &[1, 1, 2, 2]).unwrap();
    /// let y = x.conv2d(&w, None, ConvGeometry::default());
    /// assert_eq!(y.shape(), [1, 1, 2, 2]);
    /// assert_eq!(y.to_vec(), vec![-4.0; 4]); // x[i][j] − x[i+1][j+1]
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit (see [`try_conv2d`](Self::try_conv2d)).
    #[track_caller]
    pub fn conv2d(&self, weight: &Self, bias: Option<&Self>, geom: ConvGeometry) -> Self {
        or_panic(self.try_conv2d(weight, bias, geom))
    }

    /// [`conv2d`](Self::conv2d), returning an error naming both shapes when
    /// they do not fit: ranks other than 4, channels that do not match the
    /// weight or the groups, a kernel larger than the padded input, or a
    /// bias that is not `[C_out]`.
    pub fn try_conv2d(&self, weight: &Self, bias: Option<&Self>, geom: ConvGeometry) -> Result<Self> {
        let plan = Plan::new("conv2d", self.shape(), weight.shape(), geom)?;
        if let Some(b) = bias
            && b.shape() != [plan.cout]
        {
            return Err(TensorError::ShapeMismatch {
                op: "conv2d",
                lhs: weight.shape().to_vec(),
                rhs: b.shape().to_vec(),
                reason: format!("the bias must be [{}]", plan.cout),
            });
        }
        let (x, w) = (self.contiguous(), weight.contiguous());
        let (xs, ws) = (x.as_slice().expect("contiguous"), w.as_slice().expect("contiguous"));
        let b = bias.map(Tensor::contiguous);
        let bs = b.as_ref().map(|b| b.as_slice().expect("contiguous"));
        let mut out = alloc::<T>(plan.n * plan.out_image());
        let (k, p, cin_g, cout_g) = (plan.k(), plan.p(), plan.cin_g(), plan.cout_g());
        let plane = plan.inp[0] * plan.inp[1];
        let par = plan.image_par();
        let scratch = if plan.pointwise() { 0 } else { k * p };
        for_each_image(&mut out, plan.out_image(), scratch, plan.batch_parallel(), |n, y, col| {
            let image = &xs[n * plan.in_image()..(n + 1) * plan.in_image()];
            for g in 0..geom.groups {
                let xg = &image[g * cin_g * plane..(g + 1) * cin_g * plane];
                let cols = if plan.pointwise() {
                    mat(xg, k, p)
                } else {
                    plan.im2col(xg, col);
                    mat(col, k, p)
                };
                let wg = mat(&ws[g * cout_g * k..], cout_g, k);
                let yg = &mut y[g * cout_g * p..(g + 1) * cout_g * p];
                faer_matmul(MatMut::from_row_major_slice_mut(yg, cout_g, p), Accum::Replace, wg, cols, T::one(), par);
            }
            if let Some(bs) = bs {
                for (row, &b) in y.chunks_exact_mut(p).zip(bs) {
                    row.iter_mut().for_each(|v| *v += b);
                }
            }
        });
        after_faer(par);
        Ok(Tensor::from_parts(out, &[plan.n, plan.cout, plan.out[0], plan.out[1]]))
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its input: for `self` = ∂L/∂y
    /// `[N, C_out, H_out, W_out]` and the weight, ∂L/∂x `[N, C_in, H, W]` for an
    /// input of `input_size` (H, W). This is the transposed convolution
    /// (`conv_transpose2d`), whose weight is laid out `[C_in_t, C_out_t/groups, kH, kW]`:
    /// the same tensor read the other way.
    ///
    /// # Panics
    /// If the shapes do not fit or `input_size` does not give ∂y's size.
    #[track_caller]
    pub fn conv2d_input_grad(&self, weight: &Self, geom: ConvGeometry, input_size: [usize; 2]) -> Self {
        or_panic(self.try_conv2d_input_grad(weight, geom, input_size))
    }

    /// [`conv2d_input_grad`](Self::conv2d_input_grad), returning an error
    /// when the shapes do not fit.
    pub fn try_conv2d_input_grad(&self, weight: &Self, geom: ConvGeometry, input_size: [usize; 2]) -> Result<Self> {
        let op = "conv2d_input_grad";
        let ws = weight.shape();
        let gs = self.shape();
        if gs.len() != 4 || ws.len() != 4 || gs[1] != ws[0] {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: gs.to_vec(),
                rhs: ws.to_vec(),
                reason: "the gradient must be [N, C_out, H_out, W_out] with C_out the weight's first dimension".into(),
            });
        }
        let xshape = [gs[0], ws[1] * geom.groups, input_size[0], input_size[1]];
        let mut plan = Plan::new(op, &xshape, ws, geom)?;
        if plan.out[0] < gs[2] || plan.out[1] < gs[3] {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: gs.to_vec(),
                rhs: xshape.to_vec(),
                reason: format!("an input of {input_size:?} gives outputs of {:?} only", plan.out),
            });
        }
        // Output positions past ∂y's (output_padding) receive nothing.
        plan.out = [gs[2], gs[3]];
        let (g, w) = (self.contiguous(), weight.contiguous());
        let (gsl, wsl) = (g.as_slice().expect("contiguous"), w.as_slice().expect("contiguous"));
        let mut out = alloc::<T>(plan.n * plan.in_image());
        let (k, p, cin_g, cout_g) = (plan.k(), plan.p(), plan.cin_g(), plan.cout_g());
        let plane = plan.inp[0] * plan.inp[1];
        let par = plan.image_par();
        let pointwise = plan.pointwise() && plan.out == plan.inp;
        let scratch = if pointwise { 0 } else { k * p };
        for_each_image(&mut out, plan.in_image(), scratch, plan.batch_parallel(), |n, dx, col| {
            let gy = &gsl[n * plan.out_image()..(n + 1) * plan.out_image()];
            if !pointwise {
                dx.fill(T::zero());
            }
            for grp in 0..geom.groups {
                let wg = mat(&wsl[grp * cout_g * k..], cout_g, k).transpose();
                let gg = mat(&gy[grp * cout_g * p..], cout_g, p);
                let dxg = &mut dx[grp * cin_g * plane..(grp + 1) * cin_g * plane];
                if pointwise {
                    faer_matmul(MatMut::from_row_major_slice_mut(dxg, k, p), Accum::Replace, wg, gg, T::one(), par);
                } else {
                    faer_matmul(MatMut::from_row_major_slice_mut(col, k, p), Accum::Replace, wg, gg, T::one(), par);
                    plan.col2im(col, dxg);
                }
            }
        });
        after_faer(par);
        Ok(Tensor::from_parts(out, &xshape))
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its weight: for `self` the
    /// input `[N, C_in, H, W]` and `grad` = ∂L/∂y `[N, C_out, H_out, W_out]`,
    /// ∂L/∂W `[C_out, C_in/groups, kH, kW]` for a kernel of `kernel` (kH, kW).
    ///
    /// # Panics
    /// If the shapes do not fit.
    #[track_caller]
    pub fn conv2d_weight_grad(&self, grad: &Self, geom: ConvGeometry, kernel: [usize; 2]) -> Self {
        or_panic(self.try_conv2d_weight_grad(grad, geom, kernel))
    }

    /// [`conv2d_weight_grad`](Self::conv2d_weight_grad), returning an error
    /// when the shapes do not fit.
    pub fn try_conv2d_weight_grad(&self, grad: &Self, geom: ConvGeometry, kernel: [usize; 2]) -> Result<Self> {
        self.weight_grad(grad, geom, kernel, false)
    }

    /// Each image's term of [`conv2d_weight_grad`](Self::conv2d_weight_grad)
    /// apart: `[N, C_out, C_in/groups, kH, kW]`, whose sum over the first
    /// axis is the weight gradient (per-example gradients of a
    /// convolution: one product of an image's gradient with its unfolded
    /// patches, images side by side on the pool).
    ///
    /// ```
    /// use gradus_tensor::{ConvGeometry, Tensor};
    /// let x = Tensor::from_vec((0..8).map(f64::from).collect(), &[2, 1, 2, 2]).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, -1.0], &[2, 1, 1, 1]).unwrap();
    /// let geom = ConvGeometry::new([1, 1], [0, 0], [1, 1], 1);
    /// let each = x.try_conv2d_weight_grad_per_example(&g, geom, [2, 2]).unwrap();
    /// assert_eq!(each.to_vec(), vec![0.0, 1.0, 2.0, 3.0, -4.0, -5.0, -6.0, -7.0]);
    /// ```
    ///
    /// # Errors
    /// As [`try_conv2d_weight_grad`](Self::try_conv2d_weight_grad).
    pub fn try_conv2d_weight_grad_per_example(
        &self,
        grad: &Self,
        geom: ConvGeometry,
        kernel: [usize; 2],
    ) -> Result<Self> {
        self.weight_grad(grad, geom, kernel, true)
    }

    /// Σ over images and output positions of each unfolded input patch's
    /// outer product with itself, `[k, k]` for k = C_in·kH·kW in the
    /// weight's order (channel, row, column): the input-side Kronecker
    /// factor of a convolution's curvature (Grosse & Martens 2016), before
    /// dividing by the batch. One group only.
    ///
    /// ```
    /// use gradus_tensor::{ConvGeometry, Tensor};
    /// // One 1 × 2 image and a 1 × 1 kernel: the patches are 1 and 2.
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[1, 1, 1, 2]).unwrap();
    /// let gram = x.try_conv2d_patch_gram(ConvGeometry::new([1, 1], [0, 0], [1, 1], 1), [1, 1]).unwrap();
    /// assert_eq!(gram.to_vec(), vec![5.0]);
    /// ```
    ///
    /// # Errors
    /// Shapes that do not fit, or more than one group.
    pub fn try_conv2d_patch_gram(&self, geom: ConvGeometry, kernel: [usize; 2]) -> Result<Self> {
        let op = "conv2d_patch_gram";
        let xs = self.shape();
        if geom.groups != 1 || xs.len() != 4 {
            return Err(TensorError::InvalidArgument {
                op,
                reason: format!("needs an input [N, C, H, W] and one group, got {xs:?} and groups={}", geom.groups),
            });
        }
        let plan = Plan::new(op, xs, &[1, xs[1], kernel[0], kernel[1]], geom)?;
        let x = self.contiguous();
        let xsl = x.as_slice().expect("contiguous");
        let (k, p) = (plan.k(), plan.p());
        let accumulate = |range: std::ops::Range<usize>, gram: &mut [T]| {
            let mut col = alloc::<T>(k * p);
            for n in range {
                plan.im2col(&xsl[n * plan.in_image()..(n + 1) * plan.in_image()], &mut col);
                let c = mat(&col, k, p);
                let dst = MatMut::from_row_major_slice_mut(gram, k, k);
                faer_matmul(dst, Accum::Add, c, c.transpose(), T::one(), Par::Seq);
            }
        };
        let parts = rayon::current_num_threads().min(plan.n).max(1);
        let per = plan.n.div_ceil(parts);
        let partials: Vec<_> = (0..parts)
            .into_par_iter()
            .map(|t| {
                let mut part = alloc::<T>(k * k);
                part.fill(T::zero());
                accumulate(t * per..((t + 1) * per).min(plan.n), &mut part);
                part
            })
            .collect();
        after_faer(Par::rayon(0));
        let mut gram = alloc::<T>(k * k);
        gram.fill(T::zero());
        for part in &partials {
            gram.iter_mut().zip(part.iter()).for_each(|(d, s)| *d += *s);
        }
        Ok(Tensor::from_parts(gram, &[k, k]))
    }

    fn weight_grad(&self, grad: &Self, geom: ConvGeometry, kernel: [usize; 2], per_example: bool) -> Result<Self> {
        let op = if per_example { "conv2d_weight_grad_per_example" } else { "conv2d_weight_grad" };
        let (xs, gs) = (self.shape(), grad.shape());
        let bad = |reason: String| TensorError::ShapeMismatch { op, lhs: xs.to_vec(), rhs: gs.to_vec(), reason };
        if xs.len() != 4 || gs.len() != 4 || xs[0] != gs[0] || geom.groups == 0 || xs[1] % geom.groups != 0 {
            return Err(bad("the input must be [N, C_in, H, W] and the gradient [N, C_out, H_out, W_out]".into()));
        }
        let wshape = [gs[1], xs[1] / geom.groups, kernel[0], kernel[1]];
        let mut plan = Plan::new(op, xs, &wshape, geom)?;
        if plan.out[0] < gs[2] || plan.out[1] < gs[3] {
            return Err(bad(format!("the input gives outputs of {:?}, smaller than the gradient's", plan.out)));
        }
        plan.out = [gs[2], gs[3]];
        let (x, g) = (self.contiguous(), grad.contiguous());
        let (xsl, gsl) = (x.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
        let (k, p, cin_g, cout_g) = (plan.k(), plan.p(), plan.cin_g(), plan.cout_g());
        let plane = plan.inp[0] * plan.inp[1];
        let wlen = plan.cout * k;
        let pointwise = plan.pointwise() && plan.out == plan.inp;
        // Adds images `range`'s contributions into `dw`.
        let accumulate = |range: std::ops::Range<usize>, dw: &mut [T], par: Par| {
            let mut col = alloc::<T>(if pointwise { 0 } else { k * p });
            for n in range {
                let image = &xsl[n * plan.in_image()..(n + 1) * plan.in_image()];
                let gy = &gsl[n * plan.out_image()..(n + 1) * plan.out_image()];
                for grp in 0..geom.groups {
                    let xg = &image[grp * cin_g * plane..(grp + 1) * cin_g * plane];
                    let cols = if pointwise {
                        mat(xg, k, p)
                    } else {
                        plan.im2col(xg, &mut col);
                        mat(&col, k, p)
                    };
                    let gg = mat(&gy[grp * cout_g * p..], cout_g, p);
                    let dst =
                        MatMut::from_row_major_slice_mut(&mut dw[grp * cout_g * k..(grp + 1) * cout_g * k], cout_g, k);
                    faer_matmul(dst, Accum::Add, gg, cols.transpose(), T::one(), par);
                }
            }
        };
        if per_example {
            let mut each = alloc::<T>(plan.n * wlen);
            each.fill(T::zero());
            each.par_chunks_mut(wlen.max(1)).enumerate().for_each(|(n, dw)| accumulate(n..n + 1, dw, Par::Seq));
            after_faer(Par::rayon(0));
            let shape: Vec<usize> = [plan.n].into_iter().chain(wshape).collect();
            return Ok(Tensor::from_parts(each, &shape));
        }
        let mut dw = alloc::<T>(wlen);
        dw.fill(T::zero());
        if plan.batch_parallel() {
            let parts = rayon::current_num_threads().min(plan.n);
            let per = plan.n.div_ceil(parts);
            let partials: Vec<_> = (0..parts)
                .into_par_iter()
                .map(|t| {
                    let mut part = alloc::<T>(wlen);
                    part.fill(T::zero());
                    accumulate(t * per..((t + 1) * per).min(plan.n), &mut part, Par::Seq);
                    part
                })
                .collect();
            after_faer(Par::rayon(0));
            for part in &partials {
                dw.iter_mut().zip(part.iter()).for_each(|(d, s)| *d += *s);
            }
        } else {
            let par = plan.image_par();
            accumulate(0..plan.n, &mut dw, par);
            after_faer(par);
        }
        Ok(Tensor::from_parts(dw, &wshape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one output element at a time.
    fn naive(x: &Tensor<f64>, w: &Tensor<f64>, g: ConvGeometry) -> Tensor<f64> {
        let (xs, ws) = (x.shape(), w.shape());
        let out = g.output_size([xs[2], xs[3]], [ws[2], ws[3]]).unwrap();
        let (cin_g, cout_g) = (xs[1] / g.groups, ws[0] / g.groups);
        let mut y = vec![0.0; xs[0] * ws[0] * out[0] * out[1]];
        let mut at = 0;
        for n in 0..xs[0] {
            for o in 0..ws[0] {
                let grp = o / cout_g;
                for oy in 0..out[0] {
                    for ox in 0..out[1] {
                        let mut s = 0.0;
                        for c in 0..cin_g {
                            for i in 0..ws[2] {
                                for j in 0..ws[3] {
                                    let iy = (oy * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0][0] as isize;
                                    let ix = (ox * g.stride[1] + j * g.dilation[1]) as isize - g.padding[1][0] as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < xs[2] && (ix as usize) < xs[3] {
                                        s += x.get(&[n, grp * cin_g + c, iy as usize, ix as usize])
                                            * w.get(&[o, c, i, j]);
                                    }
                                }
                            }
                        }
                        y[at] = s;
                        at += 1;
                    }
                }
            }
        }
        Tensor::from_vec(y, &[xs[0], ws[0], out[0], out[1]]).unwrap()
    }

    fn seq(shape: &[usize], scale: f64) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| ((i * 7 % 13) as f64 - 6.0) * scale).collect(), shape).unwrap()
    }

    fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        a.to_vec().iter().zip(b.to_vec()).map(|(a, b)| a * b).sum()
    }

    fn geometries() -> Vec<(Vec<usize>, Vec<usize>, ConvGeometry)> {
        vec![
            (vec![2, 3, 7, 6], vec![4, 3, 3, 3], ConvGeometry::default()),
            (vec![1, 2, 9, 8], vec![2, 2, 3, 2], ConvGeometry::new([2, 3], [1, 2], [1, 1], 1)),
            (vec![2, 4, 8, 8], vec![6, 2, 3, 3], ConvGeometry::new([1, 1], [2, 2], [2, 2], 2)),
            (vec![1, 3, 5, 5], vec![3, 1, 3, 3], ConvGeometry::new([1, 1], [1, 1], [1, 1], 3)),
            (vec![2, 3, 4, 5], vec![5, 3, 1, 1], ConvGeometry::default()),
            (vec![1, 2, 6, 7], vec![3, 2, 2, 4], ConvGeometry { padding: [[0, 1], [1, 2]], ..ConvGeometry::default() }),
            (vec![1, 1, 5, 5], vec![2, 1, 2, 2], ConvGeometry::new([3, 3], [0, 0], [1, 1], 1)),
        ]
    }

    #[test]
    fn matches_the_definition_for_every_geometry() {
        for (xs, ws, g) in geometries() {
            let (x, w) = (seq(&xs, 0.3), seq(&ws, 0.2));
            let got = x.conv2d(&w, None, g);
            let want = naive(&x, &w, g);
            assert_eq!(got.shape(), want.shape(), "{g:?}");
            for (a, b) in got.to_vec().iter().zip(want.to_vec()) {
                assert!((a - b).abs() < 1e-12, "{g:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_gradients_are_the_adjoints() {
        // <conv(x, w), g> = <x, input_grad(g, w)> = <w, weight_grad(x, g)>.
        for (xs, ws, geom) in geometries() {
            let (x, w) = (seq(&xs, 0.3), seq(&ws, 0.2));
            let y = x.conv2d(&w, None, geom);
            let g = seq(y.shape(), 0.1).map(|v| v + 0.05);
            let dx = g.conv2d_input_grad(&w, geom, [xs[2], xs[3]]);
            let dw = x.conv2d_weight_grad(&g, geom, [ws[2], ws[3]]);
            assert_eq!(dx.shape(), x.shape());
            assert_eq!(dw.shape(), w.shape());
            let (a, b, c) = (dot(&y, &g), dot(&x, &dx), dot(&w, &dw));
            assert!((a - b).abs() < 1e-10 && (a - c).abs() < 1e-10, "{geom:?}: {a} {b} {c}");
        }
    }

    #[test]
    fn parallel_and_sequential_batches_agree() {
        let (x, w) = (seq(&[8, 16, 20, 20], 0.1), seq(&[32, 16, 3, 3], 0.05));
        let geom = ConvGeometry::new([1, 1], [1, 1], [1, 1], 1);
        let y = x.conv2d(&w, None, geom);
        let g = seq(y.shape(), 0.01);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let (y1, dx1, dw1) = pool.install(|| {
            (x.conv2d(&w, None, geom), g.conv2d_input_grad(&w, geom, [20, 20]), x.conv2d_weight_grad(&g, geom, [3, 3]))
        });
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let (y2, dx2, dw2) = pool.install(|| {
            (x.conv2d(&w, None, geom), g.conv2d_input_grad(&w, geom, [20, 20]), x.conv2d_weight_grad(&g, geom, [3, 3]))
        });
        assert_eq!(y1.to_vec(), y2.to_vec());
        assert_eq!(dx1.to_vec(), dx2.to_vec());
        for (a, b) in dw1.to_vec().iter().zip(dw2.to_vec()) {
            assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()));
        }
    }

    #[test]
    fn bad_shapes_are_errors_naming_both() {
        let x = Tensor::<f32>::zeros(&[1, 3, 5, 5]);
        let err = x.try_conv2d(&Tensor::zeros(&[4, 2, 3, 3]), None, ConvGeometry::default()).unwrap_err();
        assert!(err.to_string().contains("input channels"), "{err}");
        let err = x.try_conv2d(&Tensor::zeros(&[4, 3, 7, 7]), None, ConvGeometry::default()).unwrap_err();
        assert!(err.to_string().contains("larger than the padded input"), "{err}");
        let err = x.try_conv2d(&Tensor::zeros(&[4, 3, 3, 3]), Some(&Tensor::zeros(&[3])), ConvGeometry::default());
        assert!(err.unwrap_err().to_string().contains("bias"));
        let err = x.try_conv2d(&Tensor::zeros(&[4, 1, 3, 3]), None, ConvGeometry::new([1, 1], [0, 0], [1, 1], 2));
        assert!(err.unwrap_err().to_string().contains("groups=2"));
    }
}
