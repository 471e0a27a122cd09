//! Channel alignment: a Concat or Split along channels made to work in 16-channel windows, for
//! releases whose compiler concatenates and splits along channels only in multiples of 16
//! (ethos-n78@22.11/23.02, the legacy compiler TVM used).
//!
//! The tensors around such a node are widened: each piece keeps its channels at the start of a
//! window that is a multiple of 16 wide; the rest of the window is padding. The padding is made by
//! the producing convolution (extra output channels whose weights sit at the weight zero point,
//! with zero bias, so they hold the output zero point) and read with zero weight by every
//! consuming convolution, so no value anything computes changes: bit-exact. Between producers and
//! consumers the padding passes through operations that work channel by channel (activations,
//! elementwise arithmetic, pooling, resize, requantization, concat and split along other axes);
//! whatever they make of it, nothing reads it with a non-zero weight.
//!
//! The widening spreads (a Split's input is widened where it is produced, an Add's other operand
//! must match, a widened tensor's readers must accept it), so it is solved as one channel layout
//! per tensor: conflicting demands, a widened graph output, or a reader that mixes channels
//! otherwise (reshape, matmul, a float tail) refuse. It is applied to a copy first and kept only
//! when the Concat or Split then runs on the NPU and every node it touched that ran there still
//! does. The price is the padded channels' work; the note says how many MACs it adds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::ir::build::{add_const, Namer};
use crate::ir::consts::{constant, ConstData};
use crate::ir::types::Dim;
use crate::ir::{DType, Graph, NodeId, Op, Port, ValueId};
use crate::partition::cost::macs;
use crate::target::Target;

/// The window the legacy compiler wants along channels.
pub(super) const WINDOW: usize = 16;

/// Where each channel of a tensor sits in its widened form; channels not listed are padding.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Layout {
    width: usize,
    /// Strictly increasing positions, one per original channel.
    at: Vec<usize>,
}

impl Layout {
    fn identity(channels: usize) -> Layout {
        Layout {
            width: channels,
            at: (0..channels).collect(),
        }
    }

    fn is_identity(&self) -> bool {
        self.width == self.at.len()
    }

    /// The same positions in a window rounded up to a multiple of [`WINDOW`].
    fn aligned(&self) -> Layout {
        Layout {
            width: self.width.div_ceil(WINDOW) * WINDOW,
            at: self.at.clone(),
        }
    }

    /// Pieces side by side, in order.
    fn concat(parts: &[Layout]) -> Layout {
        let mut at = Vec::new();
        let mut width = 0;
        for p in parts {
            at.extend(p.at.iter().map(|a| a + width));
            width += p.width;
        }
        Layout { width, at }
    }
}

/// What a node does with channels, as far as widening is concerned.
enum Role {
    /// A convolution with group 1: reads any layout (zero weights on padding), writes any.
    Conv,
    /// A depthwise convolution: input and output share a layout.
    Depthwise,
    /// Works channel by channel: these inputs and every output share a layout.
    ChannelWise(Vec<ValueId>),
    /// Concatenation along channels of these inputs.
    ChannelConcat(Vec<ValueId>),
    /// Split along channels.
    ChannelSplit,
    /// Mixes channels otherwise, or is not an op; `String` says what it is.
    Other(String),
}

fn dims(g: &Graph, v: ValueId) -> Option<Vec<i64>> {
    g.value(v).ty.as_ref()?.static_dims()
}

/// The channel count of a rank-4 NCHW tensor.
fn channels(g: &Graph, v: ValueId) -> Result<usize, String> {
    match dims(g, v).as_deref() {
        Some([_, c, _, _]) => Ok(*c as usize),
        _ => Err(format!(
            "'{}' is not a rank-4 tensor of known shape",
            g.value(v).name
        )),
    }
}

/// The channel axis of a rank-4 node's `axis` attribute is 1 (or -3).
fn on_channel_axis(g: &Graph, id: NodeId, default: i64) -> bool {
    let axis = g
        .node(id)
        .as_op()
        .and_then(|o| o.attr_int("axis").ok().flatten())
        .unwrap_or(default);
    axis == 1 || axis == -3
}

fn role(g: &Graph, id: NodeId) -> Role {
    let Some(op) = g.node(id).op() else {
        return Role::Other("a graph input or constant".into());
    };
    let slots = |s: &[u32]| -> Vec<ValueId> { s.iter().filter_map(|&s| g.input(id, s)).collect() };
    let all_inputs = || -> Vec<ValueId> { g.inputs_of(id).into_iter().flatten().collect() };
    let per_tensor = || {
        g.input(id, 1)
            .and_then(|s| constant(g, s))
            .is_some_and(|c| c.len() == 1)
    };
    let group = || {
        g.node(id)
            .as_op()
            .and_then(|o| o.attr_int("group").ok().flatten())
            .unwrap_or(1)
    };
    let wise = |inputs: Vec<ValueId>| Role::ChannelWise(inputs);
    match op {
        Op::QLinearConv => {
            let c = |v: Option<ValueId>| v.and_then(|v| channels(g, v).ok());
            let (x, y) = (c(g.input(id, 0)), c(Some(ValueId { node: id, slot: 0 })));
            match group() {
                1 => Role::Conv,
                n if x == Some(n as usize) && y == x => Role::Depthwise,
                _ => Role::Other("a grouped convolution".into()),
            }
        }
        Op::Relu
        | Op::Clip
        | Op::LeakyRelu
        | Op::Sigmoid
        | Op::Tanh
        | Op::HardSigmoid
        | Op::Identity
        | Op::MaxPool
        | Op::AveragePool
        | Op::GlobalAveragePool
        | Op::QLinearSigmoid
        | Op::QLinearLeakyRelu
        | Op::QLinearAveragePool
        | Op::QLinearGlobalAveragePool => wise(slots(&[0])),
        Op::QuantizeLinear | Op::DequantizeLinear if per_tensor() => wise(slots(&[0])),
        // Scales name no channel count; sizes do.
        Op::Resize if g.input(id, 3).is_none() => wise(slots(&[0])),
        Op::Add | Op::Mul | Op::Max | Op::Min => wise(all_inputs()),
        Op::QLinearAdd | Op::QLinearMul => wise(slots(&[0, 3])),
        Op::Concat | Op::QLinearConcat => {
            let inputs = if op == Op::QLinearConcat {
                (2..g.inputs_of(id).len() as u32).step_by(3).collect()
            } else {
                (0..g.inputs_of(id).len() as u32).collect::<Vec<_>>()
            };
            if on_channel_axis(g, id, 1) {
                Role::ChannelConcat(slots(&inputs))
            } else {
                wise(slots(&inputs))
            }
        }
        Op::Split if on_channel_axis(g, id, 0) => Role::ChannelSplit,
        Op::Split => wise(slots(&[0])),
        _ => Role::Other(g.node(id).as_op().map_or("", |o| o.op_type()).to_string()),
    }
}

/// The widening being solved: one layout per tensor it reaches, and the nodes it touched.
struct Solver<'g> {
    g: &'g Graph,
    layouts: BTreeMap<ValueId, Layout>,
    touched: BTreeSet<NodeId>,
    queue: VecDeque<NodeId>,
}

impl Solver<'_> {
    fn layout_or_identity(&self, v: ValueId) -> Result<Layout, String> {
        match self.layouts.get(&v) {
            Some(l) => Ok(l.clone()),
            None => Ok(Layout::identity(channels(self.g, v)?)),
        }
    }

    /// Fixes `v`'s layout; a widened tensor's producer and readers must then agree with it.
    fn assign(&mut self, v: ValueId, layout: Layout) -> Result<(), String> {
        let g = self.g;
        let name = &g.value(v).name;
        if let Some(old) = self.layouts.get(&v) {
            return if *old == layout {
                Ok(())
            } else {
                Err(format!(
                    "'{name}' would need two different channel layouts (widths {} and {})",
                    old.width, layout.width
                ))
            };
        }
        channels(g, v)?;
        self.layouts.insert(v, layout.clone());
        if layout.is_identity() {
            return Ok(());
        }
        if g.is_output(v) {
            return Err(format!("'{name}' is a graph output and would be widened"));
        }
        self.queue.push_back(v.node);
        for (reader, port) in g.uses(v) {
            if port == Port::Capture {
                return Err(format!("a subgraph reads '{name}' by name"));
            }
            self.queue.push_back(reader);
        }
        Ok(())
    }

    /// Applies `id`'s rule to the layouts of its tensors.
    fn visit(&mut self, id: NodeId) -> Result<(), String> {
        let g = self.g;
        self.touched.insert(id);
        let outputs: Vec<ValueId> = g.values_of(id).collect();
        match role(g, id) {
            Role::Conv => Ok(()),
            Role::Depthwise => {
                let x = g.input(id, 0).ok_or("input 0 is missing")?;
                self.share(&[vec![x], outputs].concat())
            }
            Role::ChannelWise(inputs) => {
                let Some(&first) = outputs.first() else {
                    return Ok(());
                };
                let c = channels(g, first)?;
                let mut shared = outputs;
                for v in inputs {
                    if constant(g, v).is_some() {
                        if dims(g, v).is_some_and(|d| d.len() >= 3 && d[d.len() - 3] > 1) {
                            return Err(format!(
                                "'{}' is a per-channel constant of '{}'",
                                g.value(v).name,
                                g.node(id).display_name()
                            ));
                        }
                    } else if channels(g, v).ok() == Some(c) {
                        shared.push(v);
                    }
                }
                self.share(&shared)
            }
            Role::ChannelConcat(inputs) => {
                let mut parts = Vec::new();
                for v in inputs {
                    let l = self.layout_or_identity(v)?.aligned();
                    self.assign(v, l.clone())?;
                    parts.push(l);
                }
                let out = ValueId { node: id, slot: 0 };
                self.assign(out, Layout::concat(&parts))
            }
            Role::ChannelSplit => self.split(id),
            Role::Other(what) => Err(format!(
                "{what} '{}' reads or writes a widened tensor and does not work channel by channel",
                g.node(id).display_name()
            )),
        }
    }

    /// Every tensor in `values` gets the layout one of them has.
    fn share(&mut self, values: &[ValueId]) -> Result<(), String> {
        let Some(layout) = values.iter().find_map(|v| self.layouts.get(v)).cloned() else {
            return Ok(());
        };
        values
            .iter()
            .try_for_each(|&v| self.assign(v, layout.clone()))
    }

    /// A Split along channels: each piece in its own 16-aligned window.
    fn split(&mut self, id: NodeId) -> Result<(), String> {
        let g = self.g;
        let x = g.input(id, 0).ok_or("the Split has no input")?;
        let outs: Vec<ValueId> = g.values_of(id).collect();
        let Some(input) = self.layouts.get(&x).cloned() else {
            let parts = outs
                .iter()
                .map(|&v| Ok(self.layout_or_identity(v)?.aligned()))
                .collect::<Result<Vec<_>, String>>()?;
            for (&v, l) in outs.iter().zip(&parts) {
                self.assign(v, l.clone())?;
            }
            return self.assign(x, Layout::concat(&parts));
        };
        // The input's layout is given: each piece's window runs from its first channel's position
        // to the next piece's.
        let mut first = 0;
        for (k, &v) in outs.iter().enumerate() {
            let size = channels(g, v)?;
            let start = *input
                .at
                .get(first)
                .ok_or_else(|| format!("'{}' has an empty piece", g.node(id).display_name()))?;
            let end = match input.at.get(first + size) {
                Some(&next) if k + 1 < outs.len() => next,
                _ => input.width,
            };
            if start % WINDOW != 0 || (end - start) % WINDOW != 0 {
                return Err(format!(
                    "piece {k} of '{}' would sit at channels {start}..{end}, not in a \
                     {WINDOW}-channel window",
                    g.node(id).display_name()
                ));
            }
            let at = input.at[first..first + size]
                .iter()
                .map(|a| a - start)
                .collect();
            self.assign(
                v,
                Layout {
                    width: end - start,
                    at,
                },
            )?;
            first += size;
        }
        Ok(())
    }
}

/// Aligns the Concat or Split `root` (which the target keeps on the CPU) to 16-channel windows
/// when only that stops it; returns the note, `None` when alignment would not move it.
pub(super) fn align(
    g: &mut Graph,
    namer: &mut Namer,
    root: NodeId,
    target: &dyn Target,
) -> Result<Option<String>, String> {
    if !matches!(role(g, root), Role::ChannelConcat(_) | Role::ChannelSplit)
        || !alignment_would_run(g, root, target)
    {
        return Ok(None);
    }
    let mut solver = Solver {
        g,
        layouts: BTreeMap::new(),
        touched: BTreeSet::new(),
        queue: VecDeque::from([root]),
    };
    while let Some(id) = solver.queue.pop_front() {
        solver
            .visit(id)
            .map_err(|e| format!("not aligned to {WINDOW}-channel windows: {e}"))?;
    }
    let Solver {
        layouts, touched, ..
    } = solver;
    let widened: BTreeMap<ValueId, Layout> = layouts
        .into_iter()
        .filter(|(_, l)| !l.is_identity())
        .collect();

    let mut trial = g.clone();
    for (&v, l) in &widened {
        set_channels(&mut trial, v, l.width);
    }
    for &id in &touched {
        // Roles are read from the graph as it was: the trial's widths are already the new ones.
        rewrite_node(&mut trial, namer, id, role(g, id), &widened)?;
    }
    for &id in &touched {
        let before = target.judge(g, id).verdict;
        let after = target.judge(&trial, id).verdict;
        if before.runs_on_npu() && !after.runs_on_npu() {
            return Err(format!(
                "aligning to {WINDOW}-channel windows would move '{}' off the NPU: {}",
                g.node(id).display_name(),
                after.reason
            ));
        }
    }
    let verdict = target.judge(&trial, root).verdict;
    if !verdict.runs_on_npu() {
        return Err(format!(
            "after aligning to {WINDOW}-channel windows it still stays on the CPU: {}",
            verdict.reason
        ));
    }
    let before: u64 = touched.iter().map(|&id| macs(g, id)).sum();
    let after: u64 = touched.iter().map(|&id| macs(&trial, id)).sum();
    let moved = touched
        .iter()
        .filter(|&&id| {
            !target.judge(g, id).verdict.runs_on_npu()
                && target.judge(&trial, id).verdict.runs_on_npu()
        })
        .count();
    *g = trial;
    Ok(Some(format!(
        "aligned to {WINDOW}-channel windows (bit-exact): {} tensor(s) widened with padding \
         channels, {moved} node(s) moved to the NPU, {} more MACs in the {} node(s) touched",
        widened.len(),
        after - before,
        touched.len()
    )))
}

/// Would the target run `root` if its tensors were in aligned windows? Asked by giving them the
/// aligned widths for a moment (the rules read shapes).
fn alignment_would_run(g: &mut Graph, root: NodeId, target: &dyn Target) -> bool {
    let (pieces, whole): (Vec<ValueId>, ValueId) = match role(g, root) {
        Role::ChannelConcat(inputs) => (
            inputs,
            ValueId {
                node: root,
                slot: 0,
            },
        ),
        _ => match g.input(root, 0) {
            Some(x) => (g.values_of(root).collect(), x),
            None => return false,
        },
    };
    let values: Vec<ValueId> = pieces.iter().copied().chain([whole]).collect();
    let saved: Vec<_> = values.iter().map(|&v| g.value(v).ty.clone()).collect();
    let mut total = 0;
    for &v in &pieces {
        let Ok(c) = channels(g, v) else { return false };
        let aligned = c.div_ceil(WINDOW) * WINDOW;
        set_channels(g, v, aligned);
        total += aligned;
    }
    set_channels(g, whole, total);
    let runs = target.judge(g, root).verdict.runs_on_npu();
    for (&v, ty) in values.iter().zip(saved) {
        g.value_mut(v).ty = ty;
    }
    runs
}

fn set_channels(g: &mut Graph, v: ValueId, width: usize) {
    let value = g.value_mut(v);
    if let Some(ty) = value.ty.as_mut() {
        if let Some(d) = ty.shape.as_mut().and_then(|s| s.get_mut(1)) {
            *d = Dim::Known(width as i64);
        }
    }
    value.info = None;
}

/// Rewrites what `id` holds about channels for the widened tensors: convolution weights and
/// groups, split sizes.
fn rewrite_node(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    role: Role,
    widened: &BTreeMap<ValueId, Layout>,
) -> Result<(), String> {
    let out = ValueId { node: id, slot: 0 };
    match role {
        Role::Conv => {
            let input = g.input(id, 0).and_then(|x| widened.get(&x));
            widen_conv(g, namer, id, input, widened.get(&out))
        }
        Role::Depthwise => match widened.get(&out) {
            Some(l) => {
                widen_conv(g, namer, id, None, Some(l))?;
                set_int_attr(g, id, "group", l.width as i64);
                Ok(())
            }
            None => Ok(()),
        },
        Role::ChannelSplit => {
            let sizes: Vec<i64> = g
                .values_of(id)
                .map(|v| {
                    widened
                        .get(&v)
                        .map_or_else(|| channels(g, v), |l| Ok(l.width))
                        .map(|w| w as i64)
                })
                .collect::<Result<_, _>>()?;
            if let Some(s) = g.input(id, 1) {
                let name = namer.fresh(&format!("{}_aligned", g.value(s).name));
                let bytes = sizes.iter().flat_map(|v| v.to_le_bytes()).collect();
                let c = add_const(g, name, DType::I64, &[sizes.len() as i64], bytes);
                g.set_input(id, 1, Some(c));
            } else if g
                .node(id)
                .as_op()
                .is_some_and(|o| o.attr("split").is_some())
            {
                let attrs = g.node_mut(id).as_op_mut().ok_or("not an op")?.attrs_mut();
                attrs.retain(|a| a.name() != "split");
                attrs.push(crate::ir::attrs::ints("split", &sizes));
            } else if sizes.iter().any(|&s| s != sizes[0]) {
                return Err(format!(
                    "'{}' splits into equal parts and the aligned parts differ",
                    g.node(id).display_name()
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn set_int_attr(g: &mut Graph, id: NodeId, name: &str, value: i64) {
    if let Some(op) = g.node_mut(id).as_op_mut() {
        let attrs = op.attrs_mut();
        attrs.retain(|a| a.name() != name);
        attrs.push(crate::ir::attrs::int(name, value));
    }
}

/// `data` with axis `axis` widened to `layout`: original slices at their new positions, padding
/// slices filled with `fill(i)`'s element, `i` being the index over the axes before `axis`.
fn widen(
    data: &ConstData,
    axis: usize,
    layout: &Layout,
    fill: &dyn Fn(usize) -> Vec<u8>,
) -> Result<ConstData, String> {
    let elem = data.dtype.byte_size().unwrap_or(1);
    let outer: usize = data.dims[..axis].iter().product::<i64>().max(1) as usize;
    let inner: usize = data.dims[axis + 1..].iter().product::<i64>().max(1) as usize * elem;
    let n = layout.at.len();
    if data.dims.get(axis) != Some(&(n as i64)) || data.bytes.len() != outer * n * inner {
        return Err(format!(
            "a constant of shape {:?} does not have {n} channels along axis {axis}",
            data.dims
        ));
    }
    let mut source = vec![None; layout.width];
    for (c, &a) in layout.at.iter().enumerate() {
        source[a] = Some(c);
    }
    let mut bytes = Vec::with_capacity(outer * layout.width * inner);
    for o in 0..outer {
        let pad = fill(o);
        for s in &source {
            match s {
                Some(c) => {
                    let from = (o * n + c) * inner;
                    bytes.extend_from_slice(&data.bytes[from..from + inner]);
                }
                None => (0..inner / elem).for_each(|_| bytes.extend_from_slice(&pad)),
            }
        }
    }
    let mut dims = data.dims.clone();
    dims[axis] = layout.width as i64;
    Ok(ConstData {
        dtype: data.dtype,
        dims,
        bytes: bytes.into(),
    })
}

/// Pads a QLinearConv: extra output channels (weights at the zero point, zero bias, a copy of the
/// first scale) for `output`, zero-weight input columns for `input`.
fn widen_conv(
    g: &mut Graph,
    namer: &mut Namer,
    id: NodeId,
    input: Option<&Layout>,
    output: Option<&Layout>,
) -> Result<(), String> {
    let read = |g: &Graph, slot: u32| -> Result<Option<ConstData>, String> {
        match g.input(id, slot) {
            None => Ok(None),
            Some(v) => constant(g, v).map(Some).ok_or_else(|| {
                format!(
                    "input {slot} of '{}' is not a constant",
                    g.node(id).display_name()
                )
            }),
        }
    };
    let mut w = read(g, 3)?.ok_or("the weights are missing")?;
    let mut scale = read(g, 4)?.ok_or("the weight scale is missing")?;
    let mut zp = read(g, 5)?.unwrap_or(ConstData {
        dtype: w.dtype,
        dims: vec![],
        bytes: vec![0].into(),
    });
    let mut bias = read(g, 8)?;
    let zp_of = |zp: &ConstData, o: usize| -> Vec<u8> {
        let per_channel = zp.len() > 1;
        vec![zp
            .bytes
            .get(if per_channel { o } else { 0 })
            .copied()
            .unwrap_or(0)]
    };
    if let Some(l) = output {
        let per_channel = zp.len() > 1;
        let row_fill = if per_channel { vec![0] } else { zp_of(&zp, 0) };
        w = widen(&w, 0, l, &|_| row_fill.clone())?;
        if per_channel {
            zp = widen(&zp, 0, l, &|_| vec![0])?;
        }
        if scale.len() > 1 {
            let first = scale
                .to_f32()
                .and_then(|v| v.first().copied())
                .unwrap_or(1.0);
            let first = first.to_le_bytes().to_vec();
            scale = widen(&scale, 0, l, &|_| first.clone())?;
        }
        bias = bias.map(|b| widen(&b, 0, l, &|_| vec![0; 4])).transpose()?;
    }
    if let Some(l) = input {
        let zp_now = zp.clone();
        w = widen(&w, 1, l, &|o| zp_of(&zp_now, o))?;
    }
    let mut put = |g: &mut Graph, slot: u32, data: ConstData| {
        let old = g.input(id, slot).map(|v| g.value(v).name.clone());
        let base = old.unwrap_or_else(|| format!("{}_w_zero_point", g.node(id).display_name()));
        let v = add_const(
            g,
            namer.fresh(&format!("{base}_aligned")),
            data.dtype,
            &data.dims,
            data.bytes.to_vec(),
        );
        g.set_input(id, slot, Some(v));
    };
    put(g, 3, w);
    if output.is_some() {
        if scale.len() > 1 {
            put(g, 4, scale);
        }
        if zp.len() > 1 {
            put(g, 5, zp);
        }
        if let Some(b) = bias {
            put(g, 8, b);
        }
    }
    Ok(())
}
