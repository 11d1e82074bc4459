use std::io::Read;

use crate::{
    archiver::{
        parent::{ItemWithParent, ParentResult},
        tree::TreeType,
        tree_archiver::TreeItem,
    },
    backend::{
        ChunkPlan, ReadSourceOpen,
        decrypt::DecryptWriteBackend,
        node::{Node, NodeType},
    },
    blob::{
        BlobId, BlobType, DataId,
        packer::{PackSizer, Packer, PackerStats},
    },
    chunker::ChunkIter,
    crypto::hasher::hash,
    error::{ErrorKind, RusticError, RusticResult},
    index::{ReadGlobalIndex, indexer::SharedIndexer},
    progress::Progress,
    repofile::configfile::ConfigFile,
};

/// The `FileArchiver` is responsible for archiving files.
/// It will read the file, chunk it, and write the chunks to the backend.
///
/// # Type Parameters
///
/// * `BE` - The backend type.
/// * `I` - The index to read from.
#[derive(Clone)]
pub(crate) struct FileArchiver<'a, BE: DecryptWriteBackend, I: ReadGlobalIndex> {
    index: &'a I,
    data_packer: Packer<BE>,
    config: ConfigFile,
}

impl<'a, BE: DecryptWriteBackend, I: ReadGlobalIndex> FileArchiver<'a, BE, I> {
    /// Creates a new `FileArchiver`.
    ///
    /// # Type Parameters
    ///
    /// * `BE` - The backend type.
    /// * `I` - The index to read from.
    ///
    /// # Arguments
    ///
    /// * `be` - The backend to write to.
    /// * `index` - The index to read from.
    /// * `indexer` - The indexer to write to.
    /// * `config` - The config file.
    ///
    /// # Errors
    ///
    /// * If sending the message to the raw packer fails.
    /// * If converting the data length to u64 fails
    pub(crate) fn new(
        be: BE,
        index: &'a I,
        indexer: SharedIndexer<BE>,
        config: &ConfigFile,
    ) -> RusticResult<Self> {
        let pack_sizer =
            PackSizer::from_config(config, BlobType::Data, index.total_size(BlobType::Data));
        let data_packer = Packer::new(be, BlobType::Data, indexer, pack_sizer)?;

        Ok(Self {
            index,
            data_packer,
            config: config.clone(),
        })
    }

    /// Processes the given item.
    ///
    /// # Type Parameters
    ///
    /// * `O` - The type of the tree item.
    ///
    /// # Arguments
    ///
    /// * `item` - The item to process.
    /// * `p` - The progress tracker.
    ///
    /// # Errors
    ///
    /// * If the item could not be unpacked.
    ///
    /// # Returns
    ///
    /// The processed item.
    pub(crate) fn process<O: ReadSourceOpen>(
        &self,
        item: ItemWithParent<Option<O>>,
        p: &Progress,
    ) -> RusticResult<TreeItem> {
        Ok(match item {
            TreeType::NewTree(item) => TreeType::NewTree(item),
            TreeType::EndTree => TreeType::EndTree,
            TreeType::Other((path, node, (open, parent, prior))) => {
                let (node, filesize) = if matches!(parent, ParentResult::Matched(())) {
                    let size = node.meta.size;
                    p.inc(size);
                    (node, size)
                } else if node.node_type == NodeType::File {
                    let data_length = |id: &DataId| self.index.data_length(id);
                    let (r, plan) = open
                        .ok_or_else(
                            || RusticError::new(
                                ErrorKind::Internal,
                                "Failed to unpack tree type optional at `{path}`. Option should contain a value, but contained `None`.",
                            )
                            .attach_context("path", path.display().to_string())
                            .ask_report(),
                        )?
                        .open_planned(prior.as_deref(), &data_length)
                        .map_err(|err| {
                            err
                            .overwrite_kind(ErrorKind::InputOutput)
                            .prepend_guidance_line("Failed to open ReadSourceOpen at `{path}`")
                            .attach_context("path", path.display().to_string())
                        })?;

                    self.backup_reader(r, node, plan, p).map_err(|err| {
                        err.prepend_guidance_line("Error while backing up `{path}`")
                            .attach_context("path", path.display().to_string())
                    })?
                } else {
                    (node, 0)
                };
                // umbra patch 30: a file read again although its parent node matched (its
                // times were too close to that snapshot's reading, or patch 12's `reread_all`)
                // and found with the parent's contents and metadata counts as unmodified.
                let parent = match (&parent, prior.as_deref()) {
                    (ParentResult::NotMatched, Some(p_node))
                        if p_node.content == node.content && p_node.meta == node.meta =>
                    {
                        ParentResult::Matched(())
                    }
                    _ => parent,
                };
                TreeType::Other((path, node, (parent, filesize)))
            }
        })
    }

    /// Reads one file and stores its chunks.
    ///
    /// umbra patch 12: `plan` chooses the chunking. [`ChunkPlan::Fixed`] cuts fixed-size
    /// chunks; its `reuse` entries name chunks known to be unchanged, which the reader
    /// leaves out of what it yields and which are taken from the index without reading.
    fn backup_reader(
        &self,
        r: impl Read + Send + 'static,
        node: Node,
        plan: ChunkPlan,
        p: &Progress,
    ) -> RusticResult<(Node, u64)> {
        let size_hint = usize::try_from(node.meta.size).unwrap_or(usize::MAX);
        let store = |chunk: Vec<u8>| -> RusticResult<(DataId, u64)> {
            let id = hash(&chunk);
            let size = chunk.len() as u64;
            if !self.index.has_data(&DataId::from(id)) {
                self.data_packer.add(chunk.into(), BlobId::from(id))?;
            }
            p.inc(size);
            Ok((DataId::from(id), size))
        };
        let chunks: Vec<(DataId, u64)> = match plan {
            ChunkPlan::Repository => ChunkIter::from_config(&self.config, r, size_hint)?
                .map(|chunk| store(chunk?))
                .collect::<RusticResult<_>>()?,
            ChunkPlan::Fixed { size, reuse } if reuse.is_empty() => {
                ChunkIter::fixed(size, r, size_hint)
                    .map(|chunk| store(chunk?))
                    .collect::<RusticResult<_>>()?
            }
            ChunkPlan::Fixed { size, reuse } => {
                self.fixed_with_reuse(r, node.meta.size, size, &reuse, &store, p)?
            }
        };

        let filesize = chunks.iter().map(|x| x.1).sum();
        let content = chunks.into_iter().map(|x| x.0).collect();

        let mut node = node;
        node.content = Some(content);
        // umbra patch 14: the node records the bytes stored, as restic's does: a stream
        // (standard input, a command's output) has no size until it is read.
        node.meta.size = filesize;
        Ok((node, filesize))
    }

    /// umbra patch 12: fixed-size chunks of a file of `file_size` bytes, taking chunk `i`
    /// from `reuse[i]` when it names a blob the index has, reading it otherwise.
    fn fixed_with_reuse(
        &self,
        mut r: impl Read,
        file_size: u64,
        size: usize,
        reuse: &[Option<DataId>],
        store: &dyn Fn(Vec<u8>) -> RusticResult<(DataId, u64)>,
        p: &Progress,
    ) -> RusticResult<Vec<(DataId, u64)>> {
        let step = size as u64;
        let mut chunks = Vec::new();
        let mut index = 0usize;
        loop {
            let start = index as u64 * step;
            if let Some(Some(id)) = reuse.get(index) {
                let len = step.min(file_size.saturating_sub(start));
                if len == 0 || !self.index.has_data(id) {
                    return Err(RusticError::new(
                        ErrorKind::Internal,
                        "A chunk planned for reuse (chunk {index}) is not in the index.",
                    )
                    .attach_context("index", index.to_string()));
                }
                p.inc(len);
                chunks.push((*id, len));
                index += 1;
                continue;
            }
            let mut buf = Vec::with_capacity(size);
            let read = (&mut r)
                .take(step)
                .read_to_end(&mut buf)
                .map_err(|err| {
                    RusticError::with_source(
                        ErrorKind::InputOutput,
                        "Failed to read from reader in iterator",
                        err,
                    )
                })?;
            if read == 0 {
                break;
            }
            chunks.push(store(buf)?);
            index += 1;
            if read < size {
                if reuse.iter().skip(index).any(Option::is_some) {
                    return Err(RusticError::new(
                        ErrorKind::InputOutput,
                        "The file ended before a chunk planned for reuse: it changed while it was read.",
                    ));
                }
                break;
            }
        }
        Ok(chunks)
    }

    /// Finalizes the archiver.
    ///
    /// # Returns
    ///
    /// The statistics of the archiver.
    ///
    /// # Panics
    ///
    /// * If the channel could not be dropped
    pub(crate) fn finalize(self) -> RusticResult<PackerStats> {
        self.data_packer.finalize()
    }
}
