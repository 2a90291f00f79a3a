"""``CheckedCocoDataset``: mmdet's ``CocoDataset`` that validates its annotation file and images when it loads.

Use it in a config with ``dataset=dict(type='CheckedCocoDataset', ...)`` (same arguments as ``CocoDataset``, plus
``check_images``). Errors stop the run before the first iteration with a message naming the file and the fix;
boxes and images mmdet drops silently are counted and logged (see :mod:`.annotation_checks`).
"""
from typing import Any, List, Optional

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .annotation_checks import check_coco_file
from .check_report import CheckReport, DatasetCheckError


class ImageLoadError(RuntimeError):
    """An image that could not be loaded during training/testing; names the file and the fix."""


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` + :func:`check_coco_file` on load, counted skips in the log, clear image-load errors.

    Args:
        check_images (str): ``'header'`` (default: existence, size, header and end-of-file marker, cheap),
            ``'decode'`` (full decode of every image, slow on big sets) or ``'none'``.
        *args, **kwargs: as :class:`mmdet.datasets.CocoDataset`.
    """

    def __init__(self, *args: Any, check_images: str = 'header', **kwargs: Any) -> None:
        self.check_images = check_images
        self.check_report: Optional[CheckReport] = None
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Check the annotation file (and images), log the report, raise on errors, then load as mmdet does."""
        report = check_coco_file(self.ann_file, img_dir=self.data_prefix.get('img'),
                                 classes=self.metainfo.get('classes'), check_images=self.check_images,
                                 test_mode=self.test_mode)
        self.check_report = report
        print_log(report.summary(), logger='current')
        report.raise_if_errors()
        return super().load_data_list()

    def filter_data(self) -> List[dict]:
        """mmdet's filter, refusing to return an empty training set (mmengine would fail later without a reason)."""
        valid = super().filter_data()
        if not valid and not self.test_mode:
            raise DatasetCheckError(f'{self.ann_file}: no training image left after filter_cfg={self.filter_cfg} '
                                    f'({len(self.data_list)} before). Fix: check the annotations and filter_cfg.')
        return valid

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline; an image that fails to load raises :class:`ImageLoadError` naming the file."""
        try:
            return super().prepare_data(idx)
        except Exception as error:
            info = self.get_data_info(idx)
            path = info.get('img_path', '?')
            raise ImageLoadError(
                f'loading sample {idx} ({path}) of {self.ann_file} failed: {type(error).__name__}: {error}. Fix: '
                f'run `python tools/misc/check_dataset.py CONFIG --check-images decode` to find broken images, then '
                're-copy them or remove them from the JSON.') from error
