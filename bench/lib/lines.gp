# One line per series (one data file each: "x y" rows, '#' comments).
# gnuplot -e "out='a.png'; ttl='...'; xl='...'; yl='...'; logx=1; logy=0; \
#             files='a.dat b.dat'; titles='bare hpclaunch'; xbin=0" bench/lib/lines.gp
# xbin=1: x labels in binary units (8 B, 1 KiB, 64 MiB).
# Titles are single words (use '_' for spaces: shown as spaces). Optional: colors='#000000 …'
# and dashes='1 2 …' (gnuplot dash types), one per file.
set terminal pngcairo size 960,600 enhanced font 'DejaVu Sans,11'
set output out
set title ttl noenhanced
set xlabel xl noenhanced
set ylabel yl noenhanced
set key top left noenhanced
set grid
if (logx) { set logscale x 2 }
if (exists('xbin') && xbin) { set format x '%.0b %BB' } else { set format x '%g' }
if (logy) { set logscale y 10 }
set style data linespoints
if (!exists('colors')) { colors = '' }
if (!exists('dashes')) { dashes = '' }
do for [i=1:words(files)] {
  c = words(colors) >= i ? word(colors, i) : '#777777'
  d = words(dashes) >= i ? int(word(dashes, i)) : 1
  set linetype i lc rgb c dt d lw 2 pt 7 ps 0.8
}
plot for [i=1:words(files)] word(files, i) using 1:2 lt i \
  title system(sprintf("echo '%s' | tr _ ' '", word(titles, i)))
