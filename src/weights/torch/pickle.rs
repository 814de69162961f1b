//! A small symbolic pickle reader for torch's `.pth` files (legacy and zip): it interprets
//! only the opcodes those files use into a plain value tree, and never imports or calls
//! anything.
//!
//! GLOBAL names are checked against an allow-list ([`TorchGlobal`]); REDUCE is interpreted for
//! those names only (`OrderedDict()` becomes an empty dict, `_rebuild_tensor_v2(...)` a
//! [`TensorRef`]); BUILD on a dict drops its state (the `_metadata` attribute).
//!
//! Containers are values, not shared objects: memo entries hold `Rc`s and a container is
//! copied before it is changed while the memo still holds it, so a memo entry keeps the
//! container as it was when memoised. torch never re-fetches a container after filling it.
//! Copy-on-write keeps the tree acyclic; its depth is capped so dropping it cannot overflow.

use super::symbols::{global, reduce, Seq, Storages, Value};
use super::TorchError as E;
use std::collections::HashMap;
use std::rc::Rc;

/// Reads consecutive pickles from one buffer, remembering the storages they name.
pub struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    /// Every storage a persistent id named, by key, in first-seen order.
    pub storages: Storages,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// Container elements copied so far by copy-on-write; capped so hostile memo
    /// games cannot take quadratic time.
    copied: usize,
}

impl<'a> Unpickler<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Unpickler {
            data,
            pos: 0,
            storages: Storages::default(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            copied: 0,
        }
    }

    /// Byte offset just past the last pickle read.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], E> {
        let data: &'a [u8] = self.data;
        let end = self.pos.checked_add(n).filter(|&e| e <= data.len());
        let end = end.ok_or(E::Truncated {
            offset: self.pos,
            needed: n,
            what,
        })?;
        let bytes = &data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
    fn u8(&mut self) -> Result<u8, E> {
        Ok(self.take(1, "an opcode argument")?[0])
    }
    fn le<const N: usize>(&mut self) -> Result<[u8; N], E> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, "an opcode argument")?);
        Ok(a)
    }
    fn text(&mut self, len: usize, at: usize) -> Result<Rc<str>, E> {
        let bytes = self.take(len, "a string")?;
        std::str::from_utf8(bytes)
            .map(Rc::from)
            .map_err(|_| E::InvalidUtf8 { offset: at })
    }
    fn line(&mut self, at: usize) -> Result<Rc<str>, E> {
        let rest = &self.data[self.pos..];
        let len = rest.iter().position(|&b| b == b'\n').ok_or(E::Truncated {
            offset: self.pos,
            needed: rest.len() + 1,
            what: "a GLOBAL name line",
        })?;
        let s = self.text(len, at)?;
        self.pos += 1;
        Ok(s)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }
    fn pop(&mut self, op: u8, at: usize) -> Result<Value, E> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(E::StackUnderflow {
                opcode: op,
                offset: at,
            });
        }
        self.stack.pop().ok_or(E::StackUnderflow {
            opcode: op,
            offset: at,
        })
    }
    fn pop_mark(&mut self, at: usize) -> Result<Vec<Value>, E> {
        let m = self.marks.pop().ok_or(E::MissingMark { offset: at })?;
        Ok(self.stack.split_off(m))
    }
    fn charge(&mut self, shared: bool, len: usize, at: usize) -> Result<(), E> {
        if shared {
            self.copied = self.copied.saturating_add(len);
            if self.copied > 16 * self.data.len() + 4096 {
                return Err(E::TooComplex { offset: at });
            }
        }
        Ok(())
    }

    /// Reads one pickle, up to and including its STOP opcode.
    // One arm per opcode of the allow-listed subset; each is a line or two of stack work.
    #[allow(clippy::too_many_lines)]
    pub fn load(&mut self) -> Result<Value, E> {
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        loop {
            let at = self.pos;
            let op = self.take(1, "an opcode")?[0];
            match op {
                b'.' => return self.pop(op, at), // STOP
                0x80 => {
                    let v = self.u8()?; // PROTO
                    if v > 5 {
                        return Err(E::UnsupportedProtocol {
                            version: v,
                            offset: at,
                        });
                    }
                }
                0x95 => {
                    self.le::<8>()?; // FRAME: a length hint only
                }
                b'(' => self.marks.push(self.stack.len()), // MARK
                b')' => self.push(Value::Tuple(Seq::new(vec![], at)?)),
                b']' => self.push(Value::List(Seq::new(vec![], at)?)),
                b'}' => self.push(Value::Dict(Rc::default())),
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.push(Value::Int(v.into()));
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes
                    let n = usize::from(self.u8()?);
                    let bytes = self.take(n, "a LONG1 integer")?;
                    if n > 16 {
                        return Err(E::IntTooLarge { offset: at });
                    }
                    let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                        0xff
                    } else {
                        0
                    };
                    let mut a = [fill; 16];
                    a[..n].copy_from_slice(bytes);
                    self.push(Value::Int(i128::from_le_bytes(a)));
                }
                b'G' => {
                    self.le::<8>()?;
                    self.push(Value::Float);
                }
                b'X' | b'T' | 0x8d | 0x8c | b'U' => {
                    let len = match op {
                        b'X' => u32::from_le_bytes(self.le()?) as usize,
                        b'T' => usize::try_from(i32::from_le_bytes(self.le()?))
                            .map_err(|_| bad_operand(op, at, "negative length"))?,
                        0x8d => {
                            usize::try_from(u64::from_le_bytes(self.le()?)).unwrap_or(usize::MAX)
                        }
                        _ => usize::from(self.u8()?),
                    };
                    let s = self.text(len, at)?;
                    self.push(Value::Str(s));
                }
                b'q' | b'r' | 0x94 => {
                    let key = match op {
                        b'q' => u32::from(self.u8()?),
                        b'r' => u32::from_le_bytes(self.le()?),
                        _ => u32::try_from(self.memo.len()).unwrap_or(u32::MAX),
                    };
                    let top = self.stack.last().cloned();
                    let top = top.ok_or(E::StackUnderflow {
                        opcode: op,
                        offset: at,
                    })?;
                    self.memo.insert(key, top);
                }
                b'h' | b'j' => {
                    let key = match op {
                        b'h' => u32::from(self.u8()?),
                        _ => u32::from_le_bytes(self.le()?),
                    };
                    let v = self.memo.get(&key).cloned();
                    self.push(v.ok_or(E::MemoMissing { key, offset: at })?);
                }
                b't' => {
                    let items = self.pop_mark(at)?;
                    self.push(Value::Tuple(Seq::new(items, at)?));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop(op, at)?);
                    }
                    items.reverse();
                    self.push(Value::Tuple(Seq::new(items, at)?));
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop(op, at)?]
                    } else {
                        self.pop_mark(at)?
                    };
                    self.extend_list(items, op, at)?;
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let v = self.pop(op, at)?;
                        vec![self.pop(op, at)?, v]
                    } else {
                        self.pop_mark(at)?
                    };
                    self.extend_dict(items, op, at)?;
                }
                b'c' => {
                    let module = self.line(at)?;
                    let name = self.line(at)?;
                    self.push(Value::Global(global(&module, &name)?));
                }
                0x93 => {
                    let name = self.pop(op, at)?;
                    let module = self.pop(op, at)?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.push(Value::Global(global(&m, &n)?)),
                        _ => return Err(bad_operand(op, at, "STACK_GLOBAL needs two strings")),
                    }
                }
                b'Q' => {
                    let pid = self.pop(op, at)?;
                    let storage = self.storages.resolve(pid, at)?;
                    self.push(Value::Storage(storage));
                }
                b'R' => {
                    let args = self.pop(op, at)?;
                    let func = self.pop(op, at)?;
                    let v = reduce(func, args, at)?;
                    self.push(v);
                }
                b'b' => {
                    self.pop(op, at)?; // the state: an OrderedDict's `_metadata`, dropped
                    match self.stack.last() {
                        Some(Value::Dict(_)) => {}
                        _ => {
                            return Err(bad_operand(
                                op,
                                at,
                                "BUILD is only accepted on an OrderedDict",
                            ))
                        }
                    }
                }
                _ => {
                    return Err(E::UnknownOpcode {
                        opcode: op,
                        offset: at,
                    })
                }
            }
        }
    }

    fn extend_list(&mut self, items: Vec<Value>, op: u8, at: usize) -> Result<(), E> {
        let Some(Value::List(list)) = self.stack.last_mut() else {
            return Err(bad_operand(op, at, "APPEND(S) target is not a list"));
        };
        let (shared, len) = (Rc::strong_count(list) > 1, list.items.len());
        Rc::make_mut(list).extend(items, at)?;
        self.charge(shared, len, at)
    }

    fn extend_dict(&mut self, items: Vec<Value>, op: u8, at: usize) -> Result<(), E> {
        if !items.len().is_multiple_of(2) {
            return Err(bad_operand(op, at, "SETITEMS needs key/value pairs"));
        }
        let Some(Value::Dict(map)) = self.stack.last_mut() else {
            return Err(bad_operand(op, at, "SETITEM(S) target is not a dict"));
        };
        let (shared, len) = (Rc::strong_count(map) > 1, map.items.len());
        Rc::make_mut(map).extend(items, at)?;
        self.charge(shared, len, at)
    }
}

fn bad_operand(opcode: u8, offset: usize, reason: &'static str) -> E {
    E::BadOperand {
        opcode,
        offset,
        reason,
    }
}
