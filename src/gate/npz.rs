//! Reading and writing `.npz` archives (npyz) with errors that name the file and the array.

use crate::error::{Error, Result};
use npyz::WriterBuilder;
use std::collections::BTreeMap;
use std::path::Path;

/// One array: its shape, its data in C order (as f64) and whether it was stored as float32.
#[derive(Debug, Clone)]
pub struct Array {
    /// Shape.
    pub shape: Vec<usize>,
    /// Data, row-major.
    pub data: Vec<f64>,
    /// Stored as float32.
    pub float32: bool,
}

impl Array {
    /// Row `i` of a 2-D array.
    pub fn row(&self, i: usize) -> &[f64] {
        let cols = self.shape.get(1).copied().unwrap_or(1);
        &self.data[i * cols..(i + 1) * cols]
    }
    /// The single value of a 0-d array.
    pub fn scalar(&self) -> f64 {
        self.data[0]
    }
}

/// The entries of an array stored in Fortran (column-major) order, in C (row-major) order.
fn fortran_to_c(shape: &[usize], data: Vec<f64>) -> Vec<f64> {
    if shape.len() < 2 {
        return data;
    }
    let mut out = vec![0.0; data.len()];
    let mut index = vec![0usize; shape.len()];
    for (f, &value) in data.iter().enumerate() {
        // The multi-index of Fortran position `f`: the first axis varies fastest.
        let mut rest = f;
        for (axis, &len) in shape.iter().enumerate() {
            index[axis] = rest % len;
            rest /= len;
        }
        let c = index.iter().zip(shape).fold(0, |acc, (&i, &len)| acc * len + i);
        out[c] = value;
    }
    out
}

/// The bytes an array entry takes while an archive is read: 8 for the `f64` kept, and as
/// much again for the transient copy of a float32 array's `f32` values (4) or of a
/// Fortran-order array's reordering (8).
pub const READ_BYTES_PER_ENTRY: f64 = 16.0;

/// All arrays of one archive.
#[derive(Debug, Clone)]
pub struct Npz {
    path: String,
    arrays: BTreeMap<String, Array>,
}

fn input(path: &str, what: &str, message: impl Into<String>) -> Error {
    Error::Input { location: format!("{path}: array `{what}`"), message: message.into() }
}

impl Npz {
    /// Reads every array of `path`. float64 and float32 arrays are accepted, little- or
    /// big-endian, in C or Fortran order (`np.savez` of a transposed array), compressed
    /// (`np.savez_compressed`) or not; any other dtype, a truncated or corrupt archive, or a
    /// missing file is an error naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_within(path, f64::INFINITY)
    }

    /// [`Npz::read`], refusing an archive whose arrays, by the shapes their headers declare,
    /// would take more than `max_bytes` once read ([`READ_BYTES_PER_ENTRY`] per entry) —
    /// before any of their data is allocated (a compressed archive of a few bytes can declare
    /// an array of 10⁹ rows).
    pub fn read_within(path: &Path, max_bytes: f64) -> Result<Self> {
        let shown = path.display().to_string();
        let mut archive =
            npyz::npz::NpzArchive::open(path).map_err(|e| Error::Io { path: shown.clone(), message: e.to_string() })?;
        let names: Vec<String> = archive.array_names().map(str::to_string).collect();
        let mut arrays = BTreeMap::new();
        let mut declared = 0.0;
        for name in names {
            let file = archive
                .by_name(&name)
                .map_err(|e| input(&shown, &name, format!("unreadable: {e}")))?
                .ok_or_else(|| input(&shown, &name, "listed but missing"))?;
            declared += file.shape().iter().map(|&d| d as f64).product::<f64>() * READ_BYTES_PER_ENTRY;
            if declared > max_bytes {
                return Err(input(
                    &shown,
                    &name,
                    format!(
                        "shape {:?}: the arrays up to this one would take {:.2e} bytes once read, above the {:.2e} \
                         bytes left of the --max-memory limit for this file; not read",
                        file.shape(),
                        declared,
                        max_bytes
                    ),
                ));
            }
            let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
            let fortran = file.order() == npyz::Order::Fortran;
            let descr = file.dtype().descr().replace(['\'', '"'], "");
            let (data, float32) = match descr.as_str() {
                "<f8" | ">f8" => (
                    file.into_vec::<f64>().map_err(|e| input(&shown, &name, format!("truncated or corrupt: {e}")))?,
                    false,
                ),
                "<f4" | ">f4" => {
                    let v = file
                        .into_vec::<f32>()
                        .map_err(|e| input(&shown, &name, format!("truncated or corrupt: {e}")))?;
                    (v.into_iter().map(f64::from).collect(), true)
                }
                other => {
                    return Err(input(
                        &shown,
                        &name,
                        format!("dtype {other}: expected float64 (<f8, >f8) or float32 (<f4, >f4)"),
                    ));
                }
            };
            let data = if fortran { fortran_to_c(&shape, data) } else { data };
            arrays.insert(name, Array { shape, data, float32 });
        }
        Ok(Npz { path: shown, arrays })
    }

    /// The array `name` with the expected shape, every entry finite.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&Array> {
        let a = self.arrays.get(name).ok_or_else(|| input(&self.path, name, "missing"))?;
        if a.shape != shape {
            return Err(input(&self.path, name, format!("shape {:?}, expected {shape:?}", a.shape)));
        }
        self.finite(name, a)
    }

    /// The array `name` with `cols` columns (2-D) and any number of rows, every entry
    /// finite: a wrong row count is a finding of `gate check`, not unreadable input.
    pub fn get_rows(&self, name: &str, cols: usize) -> Result<&Array> {
        let a = self.arrays.get(name).ok_or_else(|| input(&self.path, name, "missing"))?;
        if a.shape.len() != 2 || a.shape[1] != cols {
            return Err(input(&self.path, name, format!("shape {:?}, expected (rows, {cols})", a.shape)));
        }
        self.finite(name, a)
    }

    /// `a` when every entry is finite; otherwise an error naming the entry, as
    /// `(row, column)` for a 2-D array.
    fn finite<'a>(&self, name: &str, a: &'a Array) -> Result<&'a Array> {
        if let Some(i) = a.data.iter().position(|v| !v.is_finite()) {
            let at = match a.shape.as_slice() {
                [_, cols] if *cols > 0 => format!("entry ({}, {})", i / cols, i % cols),
                _ => format!("entry {i}"),
            };
            return Err(input(&self.path, name, format!("{at} is {} (NaN and Inf are not allowed)", a.data[i])));
        }
        Ok(a)
    }

    /// The names of the arrays, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arrays.keys().map(String::as_str)
    }

    /// The array `name` whatever its shape (for messages about shapes).
    pub fn raw(&self, name: &str) -> Option<&Array> {
        self.arrays.get(name)
    }

    /// The file.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Writes float64 arrays `(name, shape, data in C order)` to `path`.
pub fn write(path: &Path, arrays: &[(&str, Vec<usize>, Vec<f64>)]) -> Result<()> {
    write_as(path, arrays, false)
}

/// Writes arrays as float64, or as float32 when `float32` (as a single-precision
/// implementation would).
pub fn write_as(path: &Path, arrays: &[(&str, Vec<usize>, Vec<f64>)], float32: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::Io { path: path.display().to_string(), message: e.to_string() };
    let mut npz = npyz::npz::NpzWriter::create(path).map_err(io)?;
    // Every entry stamped 1980-01-01 00:00 (zip's epoch), not the clock: the same export
    // gives the same bytes whenever it runs.
    let options = || zip::write::FileOptions::default().last_modified_time(zip::DateTime::default());
    for (name, shape, data) in arrays {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        if float32 {
            let mut w =
                npz.array::<f32>(name, options()).map_err(io)?.default_dtype().shape(&shape).begin_nd().map_err(io)?;
            w.extend(data.iter().map(|&x| x as f32)).map_err(io)?;
            w.finish().map_err(io)?;
        } else {
            let mut w =
                npz.array::<f64>(name, options()).map_err(io)?.default_dtype().shape(&shape).begin_nd().map_err(io)?;
            w.extend(data.iter().copied()).map_err(io)?;
            w.finish().map_err(io)?;
        }
    }
    Ok(())
}
